import ArgumentParser
import Foundation
import PEFTEngine
import Workbench

/// `workbench bench`: JSON lines on stdout (one object per figure), a table on stderr.
///
/// References ("vs ref", `reference` in each line) come from `--references PATH`
/// (default `bench/references.json` in the current directory), written on this machine by
/// `scripts/bench_pytorch.py`. A missing file is a note on stderr; a malformed one an error
/// naming the file and the key.
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

    @Option(help: "Comma-separated fine-tuning methods the training benchmarks measure (default: every one).")
    var methods: String?

    @Option(help: ArgumentHelp(
        "Reference figures measured on this machine by scripts/bench_pytorch.py.",
        valueName: "path"))
    var references: String = BenchReferences.defaultPath

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
        if let methods {
            let unknown = methods.split(separator: ",").map(String.init).filter { !MethodRegistry.names.contains($0) }
            if !unknown.isEmpty {
                throw ValidationError("--methods: unknown method(s) \(unknown.joined(separator: ",")); choose from \(MethodRegistry.names.joined(separator: ","))")
            }
        }
    }

    func run() throws {
        let info = RuntimeInfo.current(requested: runtime.choice)
        let loaded = try BenchReferences.load(references)
        let referenceLines = loaded?.summaryLines() ?? [
            "references: none at \(references); figures carry no reference "
                + "(measure them on this machine with `python3 scripts/bench_pytorch.py`, or pass --references PATH)",
        ]
        let stderr = FileHandle.standardError
        for line in info.lines + referenceLines + [BenchTable.header] { stderr.write(Data((line + "\n").utf8)) }
        // --threads N measures at N threads only; by default at 1 and 2.
        let settings = BenchSettings(quick: quick, reps: reps, threadCounts: runtime.threads.map { [$0] } ?? [1, 2],
                                     methods: methods.map { $0.split(separator: ",").map(String.init) })
        BenchSuite.run(only: selected, settings: settings, references: loaded) { figure in
            FileHandle.standardOutput.write(Data((figure.jsonLine + "\n").utf8))
            stderr.write(Data((BenchTable.row(figure) + "\n").utf8))
        }
    }
}
