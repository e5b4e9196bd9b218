import Foundation
import PEFTEngine

/// A whole study: the wall time of `workbench run` on `studies/toy-quickstart.yaml`, and of every
/// analysis command on its results.
///
/// Figures (unit s unless said; lower is better):
/// - "study": `StudyRunner.run` into a fresh file in a temporary folder — pretraining, every
///   cell, evaluation after every task, one HDF5 commit per base and cell. `size` = the study's
///   training tokens (pretraining + fine-tuning, `StudyArithmetic.totalTrainingTokens`); the
///   detail adds the process CPU time of the run, which shows when the cores were shared.
/// - "study_tokens" (tokens/s): those training tokens over the same wall time, end to end
///   (evaluation and storage count against it, so it is below the "train" figure).
/// - "analysis_forgetting", "analysis_spectrum", "analysis_lowrank", "analysis_subspace",
///   "analysis_nf4", "analysis_export": the library calls the commands of those names make with
///   their default options (open the results, compute, store under `/analysis`, render the
///   tables; export writes CSV files), without process start-up or printing. `size` = cells.
/// - "analysis_all": their sum.
///
/// The study runs once per repetition (`--reps`, default 1: a repetition is a whole study)
/// at the process's OpenBLAS thread count (`--threads`), so `threads` is that count. The study
/// file is `studyPath`, relative to the working directory (default `studies/toy-quickstart.yaml`,
/// or `$WORKBENCH_BENCH_STUDY`); when it is missing or rejected the benchmark reports nothing
/// and writes one "skipped" line to stderr. `--quick` runs a tiny study written into the
/// temporary folder instead (full, lora and qlora on a d_model 16 model, two tasks). The folder
/// is removed afterwards.
public struct StudyBenchmark: Benchmark {
    public let name = "study"
    public let summary = "wall time of studies/toy-quickstart.yaml end to end (and training tokens/s), then of each analysis on its results"
    /// Environment variable naming another study file for the benchmark.
    public static let studyVariable = "WORKBENCH_BENCH_STUDY"
    /// The study run when not `--quick`, relative to the working directory unless absolute.
    public var studyPath: String
    /// Where the temporary folder holding the results is made.
    public var parent: URL

    public init(studyPath: String? = nil, parent: URL = FileManager.default.temporaryDirectory) {
        self.studyPath = studyPath ?? ProcessInfo.processInfo.environment[Self.studyVariable] ?? "studies/toy-quickstart.yaml"
        self.parent = parent
    }

    /// Why the benchmark measured nothing.
    struct Skipped: Error, CustomStringConvertible {
        var reason: String
        var description: String { "bench study: skipped: \(reason)" }
    }

    public func run(_ settings: BenchSettings, report: (BenchFigure) -> Void) {
        let folder = parent.appendingPathComponent("workbench-bench-study-\(getpid())-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try measure(study: try study(quick: settings.quick, folder: folder), folder: folder,
                        reps: settings.reps(normal: 1), report: report)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
        }
    }

    /// The study to measure: the tiny one in `--quick` mode, else `studyPath` (missing or
    /// rejected: `Skipped`, naming the file and the reason).
    func study(quick: Bool, folder: URL) throws -> Study {
        if quick {
            let path = folder.appendingPathComponent("bench-quick.yaml").path
            try Self.quickStudy.write(toFile: path, atomically: true, encoding: .utf8)
            return try Study.load(contentsOf: path)
        }
        guard FileManager.default.fileExists(atPath: studyPath) else {
            let cwd = FileManager.default.currentDirectoryPath
            throw Skipped(reason: "\(studyPath) not found (working directory \(cwd)); run from the repository root or set \(Self.studyVariable)")
        }
        do {
            return try Study.load(contentsOf: studyPath)
        } catch {
            throw Skipped(reason: "\(error)")
        }
    }

    private func measure(study: Study, folder: URL, reps: Int, report: (BenchFigure) -> Void) throws {
        let threads = BLAS.threadCount
        let tokens = study.arithmetic.totalTrainingTokens
        var studySeconds: [Double] = [], studyCPUSeconds: [Double] = []
        var analysisSeconds: [(name: String, seconds: [Double])] = Self.analyses.map { ($0.name, []) }
        let cells = study.runs.count * study.seeds.count
        for rep in 0..<reps {
            let output = folder.appendingPathComponent("results-\(rep).h5")
            let runner: StudyRunner
            do {
                runner = try StudyRunner(study: study, output: output, force: true, runtime: .current(requested: .inherit))
            } catch {
                throw Skipped(reason: "\(error)")
            }
            var runError: (any Error)?
            let cpuBefore = Self.processCPUSeconds()
            studySeconds += BenchTiming.seconds(reps: 1, warmUp: false) {
                do { _ = try runner.run() } catch { runError = error }
            }
            studyCPUSeconds.append(Self.processCPUSeconds() - cpuBefore)
            if let runError { throw Skipped(reason: "\(study.file): \(runError)") }
            for (index, analysis) in Self.analyses.enumerated() {
                var failure: (any Error)?
                let seconds = BenchTiming.seconds(reps: 1, warmUp: false) {
                    do { try analysis.body(output, folder.appendingPathComponent("export-\(rep)")) } catch { failure = error }
                }
                if let failure {
                    throw Skipped(reason: "analysis \(analysis.name) on \(study.file)'s results failed: \(failure)")
                }
                analysisSeconds[index].seconds += seconds
            }
        }

        let source = study.name == "bench-quick" ? "the --quick study" : study.file
        let what = "\(source): \(study.runs.count) configurations × \(study.seeds.count) seeds × \(study.tasks.count) tasks"
        var wall = BenchTiming.timeFigure(name: "study", size: tokens, threads: threads, seconds: studySeconds)
        wall.detail = "\(what); pretraining, fine-tuning, evaluation after every task and HDF5 commits; size = \(tokens) training tokens; process CPU time "
            + studyCPUSeconds.map { String(format: "%.1f s", $0) }.joined(separator: ", ")
            + " (CPU time well below wall time × threads means the cores were shared)"
        report(wall)
        var rate = BenchTiming.rateFigure(name: "study_tokens", size: tokens, threads: threads, unit: "tokens/s",
                                          work: Double(tokens), seconds: studySeconds)
        rate.detail = "\(what); training tokens over the whole study's wall time (evaluation and storage included)"
        report(rate)
        for (name, seconds) in analysisSeconds {
            var figure = BenchTiming.timeFigure(name: "analysis_" + name, size: cells, threads: threads, seconds: seconds)
            let work = name == "export" ? "open, write every tidy table as CSV with a README" : "open, compute, store under /analysis, render"
            figure.detail = "workbench \(name) on the study's \(cells) cells, default options: \(work); size = cells"
            report(figure)
        }
        let total = (0..<reps).map { rep in analysisSeconds.reduce(0) { $0 + $1.seconds[rep] } }
        var all = BenchTiming.timeFigure(name: "analysis_all", size: cells, threads: threads, seconds: total)
        all.detail = "sum of the \(analysisSeconds.count) analyses (\(analysisSeconds.map(\.name).joined(separator: ", ")))"
        report(all)
    }

    /// Each analysis as its command runs it with default options: the results file, a scratch folder.
    static let analyses: [(name: String, body: @Sendable (URL, URL) throws -> Void)] = [
        ("forgetting", { url, _ in
            try withResults(url) { results in
                var report = try ForgettingAnalysis.run(results, filter: AnalysisFilter())
                report.displayTables = ForgettingAnalysis.display(report.tables)
                _ = report.rendered()
            }
        }),
        ("spectrum", { url, _ in
            try withResults(url) { results in
                var report = try SpectrumAnalysis.run(results, filter: AnalysisFilter())
                report.displayTables = SpectrumAnalysis.display(report.tables)
                _ = report.rendered()
            }
        }),
        ("lowrank", { url, _ in
            try withResults(url) { _ = try LowRankTest.run($0, options: LowRankOptions()).rendered() }
        }),
        ("subspace", { url, _ in
            try withResults(url) { results in
                let options = SubspaceAnalysis.Options()
                try options.validate()
                _ = try SubspaceAnalysis.run(results, filter: AnalysisFilter(), options: options).rendered()
            }
        }),
        ("nf4", { url, _ in
            try withResults(url) { _ = try NF4Effect.run($0, filter: AnalysisFilter(), options: NF4Effect.Options()).rendered() }
        }),
        ("export", { url, scratch in
            try withResults(url) { results in
                let tables = try StudyExport.tables(of: results, filter: AnalysisFilter())
                _ = try StudyExport.write(tables, format: .csv, to: scratch, source: results.url.path)
            }
        }),
    ]

    /// User + system CPU time of this process so far (all threads), from `getrusage`.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    private static func withResults(_ url: URL, _ body: (StudyResults) throws -> Void) throws {
        let results = try StudyResults(url: url)
        defer { results.close() }
        try body(results)
    }

    /// `--quick`: d_model 16, one layer, two tasks, full + lora + qlora (so lowrank and the
    /// QLoRA-vs-LoRA pairing have cells), a few steps each: the plumbing, in about a second.
    static let quickStudy = """
        name: bench-quick
        seeds: [0]
        model: {d_model: 16, n_layers: 1, n_heads: 2, d_ff: 32, context_length: 24}
        base:
          pretrain: {steps: 8, lr: 3.0e-3, batch: 8, warmup: 2}
          skills: [{kind: copy, max_length: 5}, {kind: facts, size: 16}]
        training: {steps: 4, lr: 1.0e-3, batch: 8}
        evaluation: {test_size: 16, batch: 16}
        tasks:
          - {name: rev, kind: reverse, max_length: 5}
          - {name: mod7, kind: modular_add, modulus: 7, max_operand: 20}
        methods:
          - {method: full, lr: 3.0e-4}
          - {method: lora, r: 2, lora_alpha: 4}
          - {method: qlora, r: 2, lora_alpha: 4}
        output: bench-quick.h5

        """
}
