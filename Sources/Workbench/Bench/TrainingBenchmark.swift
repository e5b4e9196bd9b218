import Foundation
import PEFTEngine

/// Training and evaluation throughput (tokens/s) of every registered fine-tuning method with
/// its default configuration, on the engine's reference model (V 96, d 128, 4 layers, 4 heads,
/// d_ff 512, T 64, batch 32) and a larger one (d 256, 6 layers; full and LoRA only).
///
/// `fraction_of_peak` is the model's FLOP/s over the same run's sgemm GFLOP/s (1024², same
/// thread count) — the "MFU" on this CPU. FLOPs per token, with N = matmul weights of the
/// blocks and the LM head, N_t those of them that train, and 2·T·C per layer for each of
/// the attention products QKᵀ and A·V (counted over the full T×T block, as the engine's score
/// products compute it; its products with the causal block skip up to a quarter):
///
///     forward 2N + 4·L·T·C;  backward (input gradients) 2N + 8·L·T·C;  weight gradients 2N_t
///
/// so full fine-tuning is the familiar 6N + 12·L·T·C; a frozen-base method needs 4N + 12·L·T·C
/// (the small matmuls of its own tensors are not counted).
///
/// `phase_ms` of a training figure: forward, backward and update milliseconds of its fastest
/// step (`Trainer.StepTimes`) — where a method's time goes, e.g. that every method shares
/// the forward pass.
///
/// Methods are measured interleaved: every method's model is built first, then each timed
/// round runs one step of every method in turn (evaluation likewise). A burst of load from
/// elsewhere on the host then falls on all methods alike instead of on whichever ran during
/// it, so `vs_full` — a method's best training tokens/s over full fine-tuning's, same shape
/// and threads — compares like with like.
///
/// `reference` (from `bench/references.json`, see `BenchReferences`): the same method, shape,
/// batch and thread count in PyTorch eager + peft (+ bitsandbytes for QLoRA), best training
/// tokens/s after a warm-up step, measured on this machine by `scripts/bench_pytorch.py`;
/// figures carry `method` (the registry name) so references match them.
public struct TrainingBenchmark: Benchmark {
    public let name = "train"
    public let summary = "training and evaluation tokens/s per method, with MFU against sgemm"

    public init() {}

    /// A model and batch to measure. The context holds `T` tokens plus room for 32 virtual
    /// tokens (prompt tuning prepends them), so every method trains on the same T real tokens.
    struct Shape {
        var config: ModelConfig
        var B: Int, T: Int
        var methods: [String]?

        init(vocab: Int, d: Int, layers: Int, heads: Int, dFF: Int, B: Int, T: Int, methods: [String]? = nil) {
            config = try! ModelConfig(vocabSize: vocab, dModel: d, layers: layers, heads: heads, dFF: dFF, contextLength: T + 32)
            self.B = B; self.T = T; self.methods = methods
        }

        init(config: ModelConfig, B: Int, T: Int) {
            self.config = config
            self.B = B; self.T = T; self.methods = nil
        }
    }

    public func run(_ settings: BenchSettings, report: (BenchFigure) -> Void) {
        let shapes: [Shape] = settings.quick
            ? [Shape(vocab: 16, d: 16, layers: 1, heads: 2, dFF: 32, B: 2, T: 8)]
            : [Shape(vocab: 96, d: 128, layers: 4, heads: 4, dFF: 512, B: 32, T: 64),
               Shape(vocab: 96, d: 256, layers: 6, heads: 8, dFF: 1024, B: 32, T: 64, methods: ["full", "lora"])]
        let steps = settings.reps(normal: 8)
        for threads in settings.threadCounts {
            BenchTiming.withBLASThreads(threads) {
                let peak = Self.sgemmPeak(quick: settings.quick)
                for shape in shapes {
                    let candidates = MethodRegistry.configurations
                        .filter { (shape.methods?.contains($0.methodName) ?? true) && settings.measures(method: $0.methodName) }
                        .compactMap { Candidate($0, shape: shape) }
                    measure(candidates, shape: shape, threads: threads, steps: steps, peak: peak, quick: settings.quick, report: report)
                }
            }
        }
    }

    /// Best sgemm GFLOP/s at 1024² (16² when quick) on the current thread count.
    static func sgemmPeak(quick: Bool) -> Double {
        let n = quick ? 16 : 1024
        let a = BenchTiming.randomValues(n * n, seed: 1), b = BenchTiming.randomValues(n * n, seed: 2)
        var c = [Float](repeating: 0, count: n * n)
        let seconds = a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    BenchTiming.seconds(reps: quick ? 1 : 5, warmUp: !quick) {
                        BLAS.sgemm(transA: false, transB: false, m: n, n: n, k: n, alpha: 1, a: a.baseAddress!, lda: n,
                                   b: b.baseAddress!, ldb: n, beta: 0, c: c.baseAddress!, ldc: n)
                    }
                }
            }
        }
        return 2 * Double(n * n * n) / seconds.min()! / 1e9
    }

    /// One method attached to its own model, with the fixed batch it trains on.
    struct Candidate {
        let methodName: String
        let label: String
        let trainer: Trainer
        let flops: (train: Double, forward: Double)
        let tokens: [Int32], targets: [Int32], mask: [Float]
        let B: Int, T: Int

        /// The method with its defaults (its configuration decoded from an empty object) on a
        /// model seeded like every other candidate's; nil when it does not apply to the shape.
        init?(_ type: any PEFTMethodConfiguration.Type, shape: Shape) {
            let config = shape.config, B = shape.B, T = shape.T
            guard let configuration = try? JSONDecoder().decode(type, from: Data("{}".utf8)),
                  (try? configuration.validate(for: config)) != nil
            else { return nil }
            let method = configuration.makeMethod()
            // Activations for the T real tokens; the virtual tokens' rows are the prefix's (maxP).
            let model = TransformerModel(config: config, maxB: B, maxT: T, maxP: config.contextLength - T)
            model.parameters.initialize(seed: 1)
            var rng = SeededRNG(seed: 2)
            guard (try? method.attach(to: model, rng: &rng)) != nil else { return nil }
            trainer = Trainer(model: model, method: method, settings: .init(learningRate: 1e-4))
            var data = SeededRNG(seed: 3)
            tokens = (0..<(B * T)).map { _ in Int32(data.next() % UInt64(config.vocabSize)) }
            targets = (0..<(B * T)).map { _ in Int32(data.next() % UInt64(config.vocabSize)) }
            mask = [Float](repeating: 1, count: B * T)
            methodName = type.methodName
            label = "\(method.label) · d\(config.dModel) L\(config.layers) B\(B) T\(T)"
            flops = TrainingBenchmark.flopsPerToken(model: model, T: T)
            self.B = B; self.T = T
        }

        func step() { trainer.step(tokens: tokens, targets: targets, mask: mask, B: B, T: T) }
        func evaluate() { _ = trainer.evaluate(tokens: tokens, targets: targets, mask: mask, B: B, T: T) }
    }

    /// Times `steps` rounds of one training step per candidate, then `steps` rounds of one
    /// evaluation each (after one untimed round of each unless quick), and reports a training
    /// and an evaluation figure per candidate.
    private func measure(
        _ candidates: [Candidate], shape: Shape, threads: Int, steps: Int, peak: Double, quick: Bool,
        report: (BenchFigure) -> Void
    ) {
        let clock = ContinuousClock()
        var stepSeconds = [[Double]](repeating: [], count: candidates.count)
        var evalSeconds = stepSeconds
        var fastestPhases = [Trainer.StepTimes?](repeating: nil, count: candidates.count)
        if !quick { candidates.forEach { $0.step() } }
        for _ in 0..<steps {
            for (i, candidate) in candidates.enumerated() {
                let elapsed = clock.measure(candidate.step).inSeconds
                // The fastest step's phases (`lastStepTimes` is that step's).
                if elapsed < (stepSeconds[i].min() ?? .infinity) { fastestPhases[i] = candidate.trainer.lastStepTimes }
                stepSeconds[i].append(elapsed)
            }
        }
        if !quick { candidates.forEach { $0.evaluate() } }
        for _ in 0..<steps {
            for (i, candidate) in candidates.enumerated() { evalSeconds[i].append(clock.measure(candidate.evaluate).inSeconds) }
        }
        let fullBest = candidates.firstIndex { $0.methodName == "full" }.map { stepSeconds[$0].min()! }
        for (i, candidate) in candidates.enumerated() {
            let tokensPerStep = Double(candidate.B * candidate.T)
            var train = BenchTiming.rateFigure(name: "train", size: shape.config.dModel, threads: threads, unit: "tokens/s",
                                               work: tokensPerStep, seconds: stepSeconds[i])
            train.detail = candidate.label
            train.method = candidate.methodName
            train.fractionOfPeak = train.best * candidate.flops.train / 1e9 / peak
            if let fastest = fastestPhases[i] {
                train.phaseMilliseconds = ["forward": fastest.forward, "backward": fastest.backward, "update": fastest.update]
                    .mapValues { $0.inSeconds * 1e3 }
            }
            if let fullBest, candidate.methodName != "full" { train.versusFull = fullBest / stepSeconds[i].min()! }
            report(train)
            var eval = BenchTiming.rateFigure(name: "eval", size: shape.config.dModel, threads: threads, unit: "tokens/s",
                                              work: tokensPerStep, seconds: evalSeconds[i])
            eval.detail = candidate.label
            eval.method = candidate.methodName
            eval.fractionOfPeak = eval.best * candidate.flops.forward / 1e9 / peak
            report(eval)
        }
    }

    /// Model FLOPs per token for a training step and for a forward pass (see the type's doc).
    /// A head tied to `wte` counts as a matmul weight (the V·C product is the same).
    static func flopsPerToken(model: TransformerModel, T: Int) -> (train: Double, forward: Double) {
        let p = model.parameters, c = model.config
        var n = 0.0, trained = 0.0
        for (i, v) in p.views.enumerated() where v.shape.count == 2 && (v.name != "wte" || c.tiedEmbeddings) && v.name != "wpe" {
            n += Double(v.count)
            if p.requiresGrad[i] { trained += Double(v.count) }
        }
        let attention = Double(c.layers * T * c.dModel)
        let forward = 2 * n + 4 * attention
        return (forward + 2 * n + 8 * attention + 2 * trained, forward)
    }
}
