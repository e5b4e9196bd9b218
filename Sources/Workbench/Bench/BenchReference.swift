/// One figure measured with another tool on this machine — what researchers would run instead
/// (PyTorch + peft + bitsandbytes, scipy) — as `scripts/bench_pytorch.py` writes it into
/// `bench/references.json`, under the same keys as the `BenchFigure` it is compared with.
///
/// A reference matches a figure when `name`, `size`, `threads`, `unit` and `method` (nil for
/// figures that are not per method) are equal.
public struct BenchReference: Codable, Sendable, Equatable {
    /// The figure's name, e.g. "train", "sgesdd_full", "nf4_dequantize".
    public var name: String
    /// The figure's size: d_model for training, n for n×n SVDs, values for NF4.
    public var size: Int
    /// Threads the other tool ran on (`torch.set_num_threads`, threadpoolctl).
    public var threads: Int
    /// The method's registry name for per-method figures ("full", "lora", …); nil otherwise.
    public var method: String?
    /// The figure's unit: "tokens/s", "s" or "GB/s".
    public var unit: String
    /// The headline number, defined as the figure's `value`: the best repetition.
    public var value: Double
    /// The median repetition; absent when the script did not record it.
    public var median: Double?
    /// Timed repetitions behind `value` and `median`.
    public var reps: Int?
    /// Which tool and call was measured, e.g. "torch 2.15.0 + peft 0.21.2 LoraConfig(r=8, …)".
    public var tool: String
    /// Anything else needed to reproduce it (kernel, model class, caveats).
    public var detail: String?
    /// When it was measured (ISO 8601, UTC).
    public var measured: String?
    /// The other tool's peak resident memory (MiB) for this work, when the script measured it
    /// (one child process per method: `train_llama`).
    public var peakResidentMB: Double?

    enum CodingKeys: String, CodingKey {
        case name, size, threads, method, unit, value, median, reps, tool, detail, measured
        case peakResidentMB = "peak_rss_mb"
    }

    public init(name: String, size: Int, threads: Int, method: String? = nil, unit: String, value: Double,
                median: Double? = nil, reps: Int? = nil, tool: String, detail: String? = nil, measured: String? = nil) {
        self.name = name; self.size = size; self.threads = threads; self.method = method; self.unit = unit
        self.value = value; self.median = median; self.reps = reps; self.tool = tool; self.detail = detail
        self.measured = measured
    }

    /// Decodes the keys above; `size`, `threads` and `reps` must be whole numbers. (Decoding them
    /// as `Double` first keeps the key in the error: Foundation's own "does not fit in Int"
    /// failure arrives without a coding path on Linux.)
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func whole(_ key: CodingKeys) throws -> Int? {
            guard let x = try c.decodeIfPresent(Double.self, forKey: key) else { return nil }
            guard x == x.rounded(), abs(x) < 1e15 else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "must be a whole number, got \(x)")
            }
            return Int(x)
        }
        func required(_ key: CodingKeys) throws -> Int {
            guard let value = try whole(key) else {
                throw DecodingError.keyNotFound(key, .init(codingPath: c.codingPath, debugDescription: "missing"))
            }
            return value
        }
        name = try c.decode(String.self, forKey: .name)
        size = try required(.size)
        threads = try required(.threads)
        method = try c.decodeIfPresent(String.self, forKey: .method)
        unit = try c.decode(String.self, forKey: .unit)
        value = try c.decode(Double.self, forKey: .value)
        median = try c.decodeIfPresent(Double.self, forKey: .median)
        reps = try whole(.reps)
        tool = try c.decode(String.self, forKey: .tool)
        detail = try c.decodeIfPresent(String.self, forKey: .detail)
        measured = try c.decodeIfPresent(String.self, forKey: .measured)
        peakResidentMB = try c.decodeIfPresent(Double.self, forKey: .peakResidentMB)
    }

    /// Whether this reference measures the same thing as `figure`.
    public func matches(_ figure: BenchFigure) -> Bool {
        name == figure.name && size == figure.size && threads == figure.threads && unit == figure.unit
            && method == figure.method
    }

    /// Whether this reference is stronger than `other` (higher rate, or shorter time for "s").
    func isStronger(than other: BenchReference) -> Bool {
        unit == "s" ? value < other.value : value > other.value
    }
}
