import ArgumentParser
import Foundation
import PEFTEngine
import Workbench

/// Options every subcommand accepts that decide how OpenBLAS runs.
///
/// Both are *applied* before ArgumentParser runs, by `BLASKernelLauncher` (OpenBLAS reads its
/// kernel at load, so the process re-executes itself once); declaring them here puts them in
/// `--help` and lets ArgumentParser reject bad values.
struct RuntimeOptions: ParsableArguments {
    @Option(
        name: .customLong("blas-kernel"),
        help: ArgumentHelp(
            "OpenBLAS kernel: auto (fastest the CPU and OS allow), inherit (keep OPENBLAS_CORETYPE), or a core type such as Haswell, SkylakeX, Cooperlake.",
            discussion: "Default: $\(RuntimeEnvironment.kernelChoice), else auto. Applied by re-executing the process once.",
            valueName: "auto|inherit|name"))
    var blasKernel: String?

    @Option(help: "OpenBLAS threads (default: $OPENBLAS_NUM_THREADS if set, else all cores).")
    var threads: Int?

    /// The kernel choice in force: `--blas-kernel`, else `WORKBENCH_BLAS_KERNEL`, else auto.
    var choice: BLASKernelChoice {
        BLASKernelChoice(parsing: choiceText) ?? .auto
    }

    private var choiceText: String {
        blasKernel ?? ProcessInfo.processInfo.environment[RuntimeEnvironment.kernelChoice] ?? "auto"
    }

    func validate() throws {
        if BLASKernelChoice(parsing: choiceText) == nil {
            let source = blasKernel == nil ? "$\(RuntimeEnvironment.kernelChoice)" : "--blas-kernel"
            throw ValidationError("\(source) '\(choiceText)' is not auto, inherit or an OpenBLAS core type name")
        }
        if let threads, threads < 1 {
            throw ValidationError("--threads must be ≥ 1, got \(threads)")
        }
    }
}
