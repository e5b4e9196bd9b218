import Analysis
import Foundation
import PEFTEngine

/// An end-to-end check of the three C libraries and the engine, small enough for a first run:
///
/// 1. BLAS: builds a rank-`rank` matrix M = U·V (512×8 · 8×384) with `cblas_sgemm`;
/// 2. LAPACK: `sgesdd` must find exactly `rank` singular values above the numerical-rank
///    threshold max(m, n)·ε·σ₁;
/// 3. engine: trains a tiny transformer for a few steps (the loss must fall);
/// 4. HDF5: writes M, its spectrum, the trained weights and the runtime to `output`
///    atomically, reads them back and checks they are bit-identical.
public enum SmokeRun {
    public struct Report: Sendable {
        public var output: URL
        public var runtime: RuntimeInfo
        public var sgemmSeconds: Double
        public var svdSeconds: Double
        public var foundRank: Int
        public var expectedRank: Int
        public var firstLoss: Float
        public var lastLoss: Float
        public var trainingTokensPerSecond: Double
        public var readBackExact: Bool

        /// Whether every check passed.
        public var passed: Bool { foundRank == expectedRank && lastLoss < firstLoss && readBackExact }

        public var lines: [String] {
            [
                "BLAS   rank-\(expectedRank) 512×384 product in \(String(format: "%.2f", sgemmSeconds * 1e3)) ms (kernel \(runtime.blasKernel), \(runtime.blasThreads) threads)",
                "LAPACK sgesdd found rank \(foundRank) (expected \(expectedRank)) in \(String(format: "%.2f", svdSeconds * 1e3)) ms",
                "engine tiny transformer: loss \(String(format: "%.3f", firstLoss)) → \(String(format: "%.3f", lastLoss)), \(Int(trainingTokensPerSecond)) tokens/s",
                "HDF5   \(output.path): read back \(readBackExact ? "bit-exact" : "DIFFERENT")",
                passed ? "smoke: all checks passed" : "smoke: FAILED",
            ]
        }
    }

    public static func run(output: URL, runtime: RuntimeInfo, seed: UInt64 = 0) throws -> Report {
        var rng = SeededRNG(seed: seed)
        let rank = 8
        let u = Tensor.normal([512, rank], mean: 0, std: 1, rng: &rng)
        let v = Tensor.normal([rank, 384], mean: 0, std: 1, rng: &rng)
        var clock = ContinuousClock.now
        let m = Tensor.matmul(u, v)
        let sgemmSeconds = RunnerClock.seconds(since: clock)

        clock = ContinuousClock.now
        let spectrum = try SVD.singularValues(of: m)
        let svdSeconds = RunnerClock.seconds(since: clock)
        let threshold = Float(max(m.rows, m.columns)) * Float.ulpOfOne * (spectrum.first ?? 0)
        let foundRank = spectrum.filter { $0 > threshold }.count

        let (firstLoss, lastLoss, tokensPerSecond, model) = trainTinyModel(seed: seed)

        try HDF5Transaction.write(to: output) { root in
            try runtime.write(to: root)
            try root.setAttribute("kind", "smoke")
            try root.write(m, to: "smoke/low_rank_matrix")
            try root.write(spectrum, to: "smoke/singular_values")
            let weights = try root.createGroup("smoke/tiny_model")
            for name in model.parameters.names {
                try weights.write(model.parameters.tensor(named: name), to: name)
            }
            try weights.setAttribute("first_loss", Double(firstLoss))
            try weights.setAttribute("last_loss", Double(lastLoss))
        }

        let file = try HDF5File.open(output)
        defer { try? file.close() }
        let root = try file.root()
        var exact = try file.isComplete()
        exact = try exact && root.readTensor("smoke/low_rank_matrix").storage.map(\.bitPattern) == m.storage.map(\.bitPattern)
        for name in model.parameters.names {
            let stored = try root.readTensor("smoke/tiny_model/" + name)
            exact = exact && stored.storage.map(\.bitPattern) == model.parameters.tensor(named: name).storage.map(\.bitPattern)
        }
        return Report(
            output: output, runtime: runtime, sgemmSeconds: sgemmSeconds, svdSeconds: svdSeconds,
            foundRank: foundRank, expectedRank: rank, firstLoss: firstLoss, lastLoss: lastLoss,
            trainingTokensPerSecond: tokensPerSecond, readBackExact: exact)
    }

    /// 60 steps of next-token prediction on a fixed repeating pattern (copy-like): loss must fall.
    private static func trainTinyModel(seed: UInt64) -> (Float, Float, Double, TransformerModel) {
        let config = try! ModelConfig(vocabSize: 16, dModel: 32, layers: 2, heads: 4, dFF: 64, contextLength: 16)
        let B = 8, T = 16
        let model = TransformerModel(config: config, maxB: B, maxT: T)
        model.parameters.initialize(seed: seed)
        let trainer = Trainer(model: model, settings: .init(learningRate: 1e-2))
        var tokens: [Int32] = [], targets: [Int32] = []
        for b in 0..<B {
            let row = (0...T).map { Int32((b + $0 * (b % 3 + 1)) % 16) }
            tokens += row[0..<T]
            targets += row[1...T]
        }
        let mask = [Float](repeating: 1, count: B * T)
        let steps = 60
        let start = ContinuousClock.now
        var first: Float = 0, last: Float = 0
        for s in 0..<steps {
            last = trainer.step(tokens: tokens, targets: targets, mask: mask, B: B, T: T)
            if s == 0 { first = last }
        }
        let elapsed = RunnerClock.seconds(since: start)
        return (first, last, Double(steps * B * T) / max(elapsed, 1e-9), model)
    }
}
