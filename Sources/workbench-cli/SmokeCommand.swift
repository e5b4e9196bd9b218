import ArgumentParser
import Foundation
import Workbench

/// `workbench smoke`: BLAS, LAPACK, the engine and HDF5 end to end, in a few seconds.
struct SmokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smoke",
        abstract: "Check BLAS, LAPACK, the engine and HDF5 end to end; write a small results file.")

    @OptionGroup var runtime: RuntimeOptions

    @Option(name: [.customShort("o"), .long, .customLong("out")], help: "Results file to write (atomically); --out is the old spelling.")
    var output: String = "results/smoke.h5"

    func run() throws {
        let url = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let info = RuntimeInfo.current(requested: runtime.choice)
        let report = try SmokeRun.run(output: url, runtime: info)
        for line in report.lines { print(line) }
        if !report.passed { throw ExitCode(1) }
    }
}
