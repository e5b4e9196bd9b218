import Foundation
import PEFTEngine

/// Training and evaluation throughput (tokens/s) of every registered fine-tuning method with
/// its default configuration, on the engine's reference model (V 96, d 128, 4 layers, 4 heads,
/// d_ff 512, T 64, batch 32) and a larger one (d 256, 6 layers; full and LoRA only).
///
/// `fraction_of_peak` is the model's FLOP/s over the same run's sgemm GFLOP/s (1024², same
/// thread count) — the "MFU" on this CPU. FLOPs per token, with N = matmul weights of the
/// blocks and the LM head, N_t those of them that train, and 2·T·C per layer for each of
/// the attention products QKᵀ and A·V (the engine computes the full T×T block):
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
    }

    public func run(_ settings: BenchSettings, report: (BenchFigure) -> Void) {
        let shapes: [Shape] = settings.quick
            ? [Shape(vocab: 16, d: 16, layers: 1, heads: 2, dFF: 32, B: 2, T: 8)]
            : [Shape(vocab: 96, d: 128, layers: 4, heads: 4, dFF: 512, B: 32, T: 64),
               Shape(vocab: 96, d: 256, layers: 6, heads: 8, dFF: 1024, B: 32, T: 64, methods: ["full", "lora"])]
        let steps = settings.reps(normal: 8)
        for threads in settings.threadCounts {
            BenchTiming.withBLASThreads(threads) {
                let peak = sgemmPeak(quick: settings.quick)
                for shape in shapes {
                    for type in MethodRegistry.configurations where shape.methods?.contains(type.methodName) ?? true {
                        measure(type, shape: shape, threads: threads, steps: steps, peak: peak, quick: settings.quick, report: report)
                    }
                }
            }
        }
    }

    /// Best sgemm GFLOP/s at 1024² (16² when quick) on the current thread count.
    private func sgemmPeak(quick: Bool) -> Double {
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

    private func measure(
        _ type: any PEFTMethodConfiguration.Type, shape: Shape, threads: Int, steps: Int, peak: Double, quick: Bool,
        report: (BenchFigure) -> Void
    ) {
        let config = shape.config, B = shape.B, T = shape.T
        // The method's defaults: its configuration decoded from an empty object.
        guard let configuration = try? JSONDecoder().decode(type, from: Data("{}".utf8)),
              (try? configuration.validate(for: config)) != nil
        else { return }
        let method = configuration.makeMethod()
        let model = TransformerModel(config: config, maxB: B, maxT: config.contextLength, maxP: config.contextLength - T)
        model.parameters.initialize(seed: 1)
        var rng = SeededRNG(seed: 2)
        guard (try? method.attach(to: model, rng: &rng)) != nil else { return }
        let trainer = Trainer(model: model, method: method, settings: .init(learningRate: 1e-4))
        let rowT = T
        var data = SeededRNG(seed: 3)
        let tokens = (0..<(B * rowT)).map { _ in Int32(data.next() % UInt64(config.vocabSize)) }
        let targets = (0..<(B * rowT)).map { _ in Int32(data.next() % UInt64(config.vocabSize)) }
        let mask = [Float](repeating: 1, count: B * rowT)
        var phases: [Trainer.StepTimes] = []
        phases.reserveCapacity(steps + 1)
        let stepTimes = BenchTiming.seconds(reps: steps, warmUp: !quick) {
            trainer.step(tokens: tokens, targets: targets, mask: mask, B: B, T: rowT)
            phases.append(trainer.lastStepTimes)
        }
        // The timed steps are the last `steps` (after the warm-up); report the fastest one's phases.
        let fastest = phases[phases.count - steps + stepTimes.indices.min { stepTimes[$0] < stepTimes[$1] }!]
        let evalTimes = BenchTiming.seconds(reps: steps, warmUp: !quick) {
            _ = trainer.evaluate(tokens: tokens, targets: targets, mask: mask, B: B, T: rowT)
        }
        let tokensPerStep = Double(B * rowT)
        let label = "\(method.label) · d\(config.dModel) L\(config.layers) B\(B) T\(rowT)"
        let flops = Self.flopsPerToken(model: model, T: rowT)
        var train = BenchTiming.rateFigure(name: "train", size: config.dModel, threads: threads, unit: "tokens/s",
                                           work: tokensPerStep, seconds: stepTimes)
        train.detail = label
        train.method = type.methodName
        train.fractionOfPeak = train.best * flops.train / 1e9 / peak
        train.phaseMilliseconds = ["forward": fastest.forward, "backward": fastest.backward, "update": fastest.update]
            .mapValues(Self.milliseconds)
        report(train)
        var eval = BenchTiming.rateFigure(name: "eval", size: config.dModel, threads: threads, unit: "tokens/s",
                                          work: tokensPerStep, seconds: evalTimes)
        eval.detail = label
        eval.method = type.methodName
        eval.fractionOfPeak = eval.best * flops.forward / 1e9 / peak
        report(eval)
    }

    static func milliseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) * 1e-15
    }

    /// Model FLOPs per token for a training step and for a forward pass (see the type's doc).
    static func flopsPerToken(model: TransformerModel, T: Int) -> (train: Double, forward: Double) {
        let p = model.parameters, c = model.config
        var n = 0.0, trained = 0.0
        for (i, v) in p.views.enumerated() where v.shape.count == 2 && v.name != "wte" && v.name != "wpe" {
            n += Double(v.count)
            if p.requiresGrad[i] { trained += Double(v.count) }
        }
        let attention = Double(c.layers * T * c.dModel)
        let forward = 2 * n + 4 * attention
        return (forward + 2 * n + 8 * attention + 2 * trained, forward)
    }
}
