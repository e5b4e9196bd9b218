import Foundation
import PEFTEngine

/// Training and evaluation tokens/s of every method that applies to a LLaMA model, on
/// SmolLM2-135M's shape (30 layers, d 576, 9 heads over 3 key/value heads, d_ff 1536, vocabulary
/// 49,152, tied head; random weights) at B 8, T 128, with each method's peak resident memory.
///
/// Unlike `TrainingBenchmark`, methods run one after another, each on its own model freed
/// before the next is built (every method's model at once would not fit in memory), so
/// `vs_full` compares steps taken minutes apart. `peak_rss_mb` is the process's resident
/// high-water mark from building the model to the last evaluation (`ProcessMemory`), the
/// figure to set against PyTorch's `ru_maxrss` for the same method (`bench_pytorch.py`).
/// FLOPs and `fraction_of_peak` as in `TrainingBenchmark`.
public struct LlamaTrainingBenchmark: Benchmark {
    public let name = "train_llama"
    public let summary = "SmolLM2-135M shape (B 8, T 128): training and evaluation tokens/s and peak RSS per method"

    public init() {}

    public func run(_ settings: BenchSettings, report: (BenchFigure) -> Void) {
        let shape = settings.quick
            ? TrainingBenchmark.Shape(config: try! ModelConfig(architecture: .llama, vocabSize: 64, dModel: 16, layers: 1, heads: 4,
                                                                kvHeads: 2, dFF: 32, contextLength: 8 + 32, tiedEmbeddings: true),
                                      B: 2, T: 8)
            : TrainingBenchmark.Shape(config: .smolLM2(contextLength: 128 + 32), B: 8, T: 128)
        let steps = settings.reps(normal: 3)
        for threads in settings.threadCounts {
            BenchTiming.withBLASThreads(threads) {
                let peak = TrainingBenchmark.sgemmPeak(quick: settings.quick)
                var fullBest: Double?
                for type in MethodRegistry.configurations where settings.measures(method: type.methodName) {
                    guard let figures = measure(type, shape: shape, threads: threads, steps: steps, peak: peak,
                                                quick: settings.quick) else { continue }
                    var train = figures.train
                    train.detail = (train.detail ?? "") + " · activations \(figures.activationMB) MB"
                    if type.methodName == "full" { fullBest = train.best }
                    if let fullBest, type.methodName != "full" { train.versusFull = train.best / fullBest }
                    report(train)
                    report(figures.eval)
                }
            }
        }
    }

    /// One method's training and evaluation figures, its model built and freed inside; nil when
    /// the method does not apply (BitFit: no biases).
    private func measure(_ type: any PEFTMethodConfiguration.Type, shape: TrainingBenchmark.Shape, threads: Int, steps: Int,
                         peak: Double, quick: Bool) -> (train: BenchFigure, eval: BenchFigure, activationMB: Int)? {
        ProcessMemory.resetPeak()
        guard let candidate = TrainingBenchmark.Candidate(type, shape: shape) else { return nil }
        let clock = ContinuousClock()
        if !quick { candidate.step() }
        var stepSeconds: [Double] = [], fastest: Trainer.StepTimes?
        for _ in 0..<steps {
            let elapsed = clock.measure(candidate.step).inSeconds
            if elapsed < (stepSeconds.min() ?? .infinity) { fastest = candidate.trainer.lastStepTimes }
            stepSeconds.append(elapsed)
        }
        let evalSeconds = BenchTiming.seconds(reps: steps, warmUp: !quick, candidate.evaluate)
        let peakMB = ProcessMemory.peakBytes().map { Double($0) / 1_048_576 }
        let tokens = Double(shape.B * shape.T)
        var train = BenchTiming.rateFigure(name: "train", size: shape.config.dModel, threads: threads, unit: "tokens/s",
                                           work: tokens, seconds: stepSeconds)
        train.detail = candidate.label
        train.method = candidate.methodName
        train.fractionOfPeak = train.best * candidate.flops.train / 1e9 / peak
        train.peakResidentMB = peakMB
        if let fastest {
            train.phaseMilliseconds = ["forward": fastest.forward, "backward": fastest.backward, "update": fastest.update]
                .mapValues { $0.inSeconds * 1e3 }
        }
        var eval = BenchTiming.rateFigure(name: "eval", size: shape.config.dModel, threads: threads, unit: "tokens/s",
                                          work: tokens, seconds: evalSeconds)
        eval.detail = candidate.label
        eval.method = candidate.methodName
        eval.fractionOfPeak = eval.best * candidate.flops.forward / 1e9 / peak
        return (train, eval, candidate.trainer.model.activations.bytes / 1_048_576)
    }
}
