import Foundation

/// The figures of the tools researchers would otherwise run — PyTorch + peft + bitsandbytes for
/// training and NF4, torch.linalg and scipy for SVD — measured *on this machine* by the committed
/// script `scripts/bench_pytorch.py` and stored in `bench/references.json`. A comparison is only
/// honest when both sides ran on the same machine, so `workbench bench` reads its "vs ref"
/// column from this file instead of numbers typed into the source.
///
/// The file (JSON, written by the script; unknown keys are ignored):
///
///     { "magic": "workbench-bench-references", "version": 1,
///       "generated": "2026-…Z",                       // last write, ISO 8601 UTC
///       "machine": { "cpu": "AMD EPYC", "cores": 2, … },  // cpu = /proc/cpuinfo "model name"
///       "software": { "torch": "2.15.0", "peft": "0.21.2", … },  // name → version, strings
///       "figures": [ { "name": "train", "size": 128, "threads": 1, "method": "lora",
///                      "unit": "tokens/s", "value": 9876.5, "median": 9800.1, "reps": 8,
///                      "tool": "torch 2.15.0 + peft 0.21.2 LoraConfig(r=8, …)", … }, … ] }
///
/// Each figure is a `BenchReference`. When several references match one `BenchFigure` (e.g.
/// torch.linalg.svd and scipy's gesdd for "sgesdd_full"), the figure is compared with the
/// strongest — the highest rate, or the shortest time — and names it in `reference_source`.
public struct BenchReferences: Sendable, Equatable {
    public static let magic = "workbench-bench-references"
    public static let version = 1
    /// Where `workbench bench` looks by default, relative to the current directory.
    public static let defaultPath = "bench/references.json"

    /// The file it was read from, as the caller named it.
    public var file: String
    /// The measuring machine's CPU model name (`/proc/cpuinfo` "model name").
    public var cpu: String
    /// Its CPU identity beyond the name, when the file records it: two generations of one
    /// "AMD EPYC" name differ here (family 25 AVX2, family 26 AVX-512).
    public var machine: CPUIdentity?
    /// When the file was last written (ISO 8601), if stated.
    public var generated: String?
    /// Versions of the measured tools, e.g. ["torch": "2.15.0", "peft": "0.21.2"].
    public var software: [String: String]
    public var figures: [BenchReference]

    public init(file: String, cpu: String, machine: CPUIdentity? = nil, generated: String? = nil, software: [String: String] = [:], figures: [BenchReference]) {
        self.file = file; self.cpu = cpu; self.machine = machine; self.generated = generated; self.software = software; self.figures = figures
    }

    /// CPU family, model number and the SIMD flags that change kernels (`/proc/cpuinfo`).
    public struct CPUIdentity: Equatable, Sendable {
        public var family: String?
        public var model: String?
        /// The flags among `CPUIdentity.relevantFlags`, sorted.
        public var simd: [String]

        public static let relevantFlags = ["avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "avx512_vnni"]

        public init(family: String?, model: String?, simd: [String]) {
            self.family = family; self.model = model
            self.simd = simd.filter(Self.relevantFlags.contains).sorted()
        }

        /// This machine's, from `/proc/cpuinfo` (nil elsewhere).
        public static func current() -> CPUIdentity? {
            guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
            var fields: [String: String] = [:]
            for line in text.split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let key = line[..<colon].trimmingCharacters(in: .whitespaces)
                if fields[key] == nil { fields[key] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
            }
            return CPUIdentity(family: fields["cpu family"], model: fields["model"], simd: (fields["flags"] ?? "").split(separator: " ").map(String.init))
        }

        var text: String { "family \(family ?? "?"), model \(model ?? "?"), \(simd.isEmpty ? "no AVX" : simd.joined(separator: " "))" }
    }

    // MARK: Reading

    /// Reads the references file at `path`; nil when no file exists there (the benchmark then
    /// runs without references). Throws `BenchReferencesError` naming the file and the key when
    /// the file exists but is unreadable or malformed.
    public static func load(_ path: String) throws -> BenchReferences? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) }
        catch { throw BenchReferencesError(file: path, keyPath: "", message: "cannot be read: \(error.localizedDescription)") }
        return try parse(data, file: path)
    }

    /// Parses and validates the text of a references file; `file` names it in errors.
    public static func parse(_ data: Data, file: String) throws -> BenchReferences {
        let decoder = JSONDecoder()
        let header = try decode(Header.self, from: data, file: file, decoder: decoder)
        guard header.magic == magic else {
            throw BenchReferencesError(file: file, keyPath: "magic", message: "is \"\(header.magic)\", expected \"\(magic)\"")
        }
        guard header.version == version else {
            throw BenchReferencesError(file: file, keyPath: "version", message: "is \(header.version); this workbench reads version \(version)")
        }
        let document = try decode(Document.self, from: data, file: file, decoder: decoder)
        for (i, figure) in document.figures.enumerated() {
            func fail(_ key: BenchReference.CodingKeys, _ message: String) -> BenchReferencesError {
                BenchReferencesError(file: file, keyPath: "figures[\(i)].\(key.stringValue)", message: message)
            }
            if figure.name.isEmpty { throw fail(.name, "is empty") }
            if figure.size < 1 { throw fail(.size, "must be ≥ 1, got \(figure.size)") }
            if figure.threads < 1 { throw fail(.threads, "must be ≥ 1, got \(figure.threads)") }
            if figure.unit.isEmpty { throw fail(.unit, "is empty") }
            if figure.tool.isEmpty { throw fail(.tool, "is empty") }
            if !(figure.value.isFinite && figure.value > 0) { throw fail(.value, "must be a finite number > 0, got \(figure.value)") }
            if let median = figure.median, !(median.isFinite && median > 0) {
                throw fail(.median, "must be a finite number > 0, got \(median)")
            }
            if let reps = figure.reps, reps < 1 { throw fail(.reps, "must be ≥ 1, got \(reps)") }
        }
        let m = document.machine
        let identity = (m.cpu_family != nil || m.simd != nil)
            ? CPUIdentity(family: m.cpu_family, model: m.cpu_model_number, simd: (m.simd ?? "").split(separator: " ").map(String.init)) : nil
        return BenchReferences(file: file, cpu: m.cpu, machine: identity, generated: document.generated,
                               software: document.software ?? [:], figures: document.figures)
    }

    // MARK: Matching

    /// The strongest reference measuring the same thing as `figure`, if any.
    public func reference(for figure: BenchFigure) -> BenchReference? {
        figures.filter { $0.matches(figure) }.reduce(nil) { best, candidate in
            best.map { candidate.isStronger(than: $0) ? candidate : $0 } ?? candidate
        }
    }

    /// `figure` with `reference` and `reference_source` set from its strongest matching
    /// reference; unchanged when none matches (it keeps a same-run reference such as HDF5's memcpy).
    public func annotate(_ figure: BenchFigure) -> BenchFigure {
        guard let reference = reference(for: figure) else { return figure }
        var annotated = figure
        annotated.reference = reference.value
        if annotated.peakResidentMB != nil { annotated.referencePeakResidentMB = reference.peakResidentMB }
        annotated.referenceSource = reference.tool + " (" + file + (reference.measured.map { ", " + $0 } ?? "") + ")"
        return annotated
    }

    /// What `workbench bench` prints on stderr before the table: the file, the machine and
    /// versions it was measured with, and a warning when that CPU is not this one.
    public func summaryLines(currentCPU: String? = BenchReferences.currentCPUModel(),
                             currentMachine: CPUIdentity? = CPUIdentity.current()) -> [String] {
        let tools = software.keys.sorted().map { "\($0) \(software[$0]!)" }.joined(separator: ", ")
        var lines = ["references: \(file) — \(figures.count) figures measured on \(cpu)"
            + (machine.map { " (\($0.text))" } ?? "") + (generated.map { " (\($0))" } ?? "") + (tools.isEmpty ? "" : ": \(tools)")]
        if let currentCPU, currentCPU != cpu {
            lines.append("references: warning: measured on \"\(cpu)\", this machine is \"\(currentCPU)\"; "
                + "re-measure with `python3 scripts/bench_pytorch.py` for an honest comparison")
        } else if let machine, let currentMachine, machine != currentMachine {
            // The same model name, another CPU generation: the two "AMD EPYC"s differ in family and SIMD.
            lines.append("references: warning: measured on \"\(cpu)\" \(machine.text); this machine is the same name but \(currentMachine.text); "
                + "re-measure with `python3 scripts/bench_pytorch.py` for an honest comparison")
        }
        return lines
    }

    /// This machine's CPU model name, the first "model name" of `/proc/cpuinfo` (nil elsewhere).
    public static func currentCPUModel() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    // MARK: Decoding

    private struct Header: Decodable { var magic: String; var version: Int }
    private struct Machine: Decodable {
        var cpu: String
        var cpu_family: String?
        var cpu_model_number: String?
        var simd: String?
    }
    private struct Document: Decodable {
        var machine: Machine
        var generated: String?
        var software: [String: String]?
        var figures: [BenchReference]
    }

    /// `JSONDecoder.decode`, with a `DecodingError` turned into an error naming the key path.
    private static func decode<T: Decodable>(_ type: T.Type, from data: Data, file: String, decoder: JSONDecoder) throws -> T {
        do { return try decoder.decode(type, from: data) }
        catch let error as DecodingError {
            switch error {
            case .keyNotFound(let key, let context):
                throw BenchReferencesError(file: file, keyPath: keyPath(context.codingPath + [key]), message: "is missing")
            case .typeMismatch(let expected, let context):
                throw BenchReferencesError(file: file, keyPath: keyPath(context.codingPath), message: "is not \(typeName(expected))")
            case .valueNotFound(let expected, let context):
                throw BenchReferencesError(file: file, keyPath: keyPath(context.codingPath), message: "is null, expected \(typeName(expected))")
            case .dataCorrupted(let context):
                let path = keyPath(context.codingPath)
                throw BenchReferencesError(file: file, keyPath: path, message: path.isEmpty
                    ? "is not valid JSON: \(context.underlyingError.map { "\($0)" } ?? context.debugDescription)"
                    : context.debugDescription)
            @unknown default:
                throw BenchReferencesError(file: file, keyPath: "", message: "\(error)")
            }
        }
    }

    /// `figures[3].value` from the decoder's coding path.
    static func keyPath(_ path: [any CodingKey]) -> String {
        path.reduce(into: "") { text, key in
            if let index = key.intValue, key.stringValue == "Index \(index)" { text += "[\(index)]" }
            else { text += (text.isEmpty ? "" : ".") + key.stringValue }
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type: "an integer"
        case is Double.Type: "a number"
        case is [BenchReference].Type, is Array<Any>.Type: "an array"
        default: "of type \(type)"
        }
    }
}
