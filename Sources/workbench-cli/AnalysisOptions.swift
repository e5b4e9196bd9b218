import ArgumentParser
import Foundation
import Workbench

/// The cell filters of every analysis command: each repeatable, all of them combined.
struct CellFilterOptions: ParsableArguments {
    @Option(name: .customLong("method"), help: "Only cells of this method (repeatable), e.g. lora.")
    var methods: [String] = []

    @Option(name: .customLong("label"), help: "Only this configuration label (repeatable), e.g. lora-r8.")
    var labels: [String] = []

    @Option(name: .customLong("seed"), help: "Only this seed (repeatable).")
    var seeds: [Int] = []

    @Option(name: .customLong("task"), help: "Only this task's stage (repeatable).")
    var tasks: [String] = []

    @Option(name: .customLong("matrix"), help: "Only matrices whose name contains this, or matches it as a regex (repeatable), e.g. attn.q.")
    var matrices: [String] = []

    var filter: AnalysisFilter {
        AnalysisFilter(methods: methods, labels: labels, seeds: seeds, tasks: tasks, matrices: matrices)
    }

    /// The filter flags given on the command line, by name.
    var given: [String] {
        [("--method", !methods.isEmpty), ("--label", !labels.isEmpty), ("--seed", !seeds.isEmpty),
         ("--task", !tasks.isEmpty), ("--matrix", !matrices.isEmpty)].filter(\.1).map(\.0)
    }
}

/// Options shared by the analysis commands (`forgetting`, `spectrum`, `lowrank`, `subspace`, `nf4`).
struct AnalysisOptions: ParsableArguments {
    @Argument(help: "A study results file written by `workbench run`.")
    var results: String

    @OptionGroup var cells: CellFilterOptions

    @Flag(help: "Print JSON instead of tables.")
    var json = false

    @Flag(help: "Compute again even if the results file holds this analysis for these options.")
    var recompute = false

    var filter: AnalysisFilter { cells.filter }

    /// Opens the results file and checks the filters against it.
    func open() throws -> StudyResults {
        let results = try StudyResults(url: URL(fileURLWithPath: self.results))
        try filter.validate(against: results)
        return results
    }

    /// Prints `report` as JSON or tables.
    func emit(_ report: AnalysisReport) throws {
        print(json ? try report.json() : report.rendered(), terminator: "")
    }
}

/// Runs a command's body: any error becomes one line on stderr, `workbench <command>: <what
/// went wrong>`, and exit status 1 — the one error style of every command.
func runCommand(_ name: String, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        let line = "workbench \(name): \(error)".replacingOccurrences(of: "\n", with: " ")
        FileHandle.standardError.write(Data((line + "\n").utf8))
        throw ExitCode(1)
    }
}

/// Prints `error` as `workbench <command>: <message>` on stderr and returns exit status 1 to throw.
func commandFailure(_ command: String, _ error: Error) -> Error {
    if let exit = error as? ExitCode { return exit }
    let line = "workbench \(command): \(error)".replacingOccurrences(of: "\n", with: " ")
    FileHandle.standardError.write(Data((line + "\n").utf8))
    return ExitCode(1)
}
