/// The list of benchmarks `workbench bench` runs, in order. Add a new figure by appending a
/// `Benchmark` here.
public enum BenchSuite {
    public static let all: [any Benchmark] = [
        SgemmBenchmark(), SVDBenchmark(), MemcpyBenchmark(), TrainingBenchmark(), LlamaTrainingBenchmark(), NF4Benchmark(), HDF5Benchmark(), StoreBenchmark(),
        StudyBenchmark(),
    ]

    /// Names `--only` accepts.
    public static var names: [String] { all.map(\.name) }

    /// Runs the benchmarks named in `only` (all when nil), in suite order, reporting each figure
    /// with its reference from `references` when one matches (`BenchReferences.annotate`).
    /// Unknown names are a programmer mistake here: validate with `unknownNames(in:)` first.
    public static func run(
        only: [String]? = nil, settings: BenchSettings, references: BenchReferences? = nil,
        report: (BenchFigure) -> Void
    ) {
        precondition(unknownNames(in: only ?? []).isEmpty, "BenchSuite.run: unknown benchmarks \(unknownNames(in: only ?? []))")
        for benchmark in all where only.map({ $0.contains(benchmark.name) }) ?? true {
            benchmark.run(settings) { figure in report(references?.annotate(figure) ?? figure) }
        }
    }

    /// The names in `requested` that are not benchmarks.
    public static func unknownNames(in requested: [String]) -> [String] {
        requested.filter { !names.contains($0) }
    }
}
