import ArgumentParser
import Foundation
import Workbench

/// `workbench bench`: JSON lines on stdout (one object per figure), a table on stderr.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure sgemm, SVD and memory bandwidth on this machine.",
        discussion: "Figures: " + BenchSuite.all.map { "\($0.name) — \($0.summary)" }.joined(separator: "; "))

    @OptionGroup var runtime: RuntimeOptions

    @Flag(help: "Tiny sizes and one repetition: checks that everything runs, measures nothing.")
    var quick = false

    @Option(help: "Comma-separated benchmarks to run (\(BenchSuite.names.joined(separator: ","))).")
    var only: String?

    @Option(help: "Timed repetitions per figure (default: per benchmark, 2–10).")
    var reps: Int?

    private var selected: [String]? {
        only.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
    }

    func validate() throws {
        if let selected {
            let unknown = BenchSuite.unknownNames(in: selected)
            if !unknown.isEmpty || selected.isEmpty {
                throw ValidationError("--only: unknown benchmark(s) \(unknown.joined(separator: ",")); choose from \(BenchSuite.names.joined(separator: ","))")
            }
        }
        if let reps, reps < 1 { throw ValidationError("--reps must be ≥ 1, got \(reps)") }
    }

    func run() throws {
        let info = RuntimeInfo.current(requested: runtime.choice)
        let stderr = FileHandle.standardError
        for line in info.lines + [BenchTable.header] { stderr.write(Data((line + "\n").utf8)) }
        BenchSuite.run(only: selected, settings: BenchSettings(quick: quick, reps: reps)) { figure in
            FileHandle.standardOutput.write(Data((figure.jsonLine + "\n").utf8))
            stderr.write(Data((BenchTable.row(figure) + "\n").utf8))
        }
    }
}
