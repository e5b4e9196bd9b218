import PEFTEngine

/// Environment variables through which the workbench applies and reports its OpenBLAS setup.
public enum RuntimeEnvironment {
    /// Read by OpenBLAS once, when the library loads: the kernel ("core type") to use.
    public static let openBLASCoreType = "OPENBLAS_CORETYPE"
    /// Read by OpenBLAS once, when the library loads: its thread count.
    public static let openBLASThreads = "OPENBLAS_NUM_THREADS"
    /// The workbench's kernel choice when `--blas-kernel` is not given ("auto", "inherit", a name).
    public static let kernelChoice = "WORKBENCH_BLAS_KERNEL"
    /// Set before re-executing, to the process id. `execv` keeps the id, so the re-executed
    /// process recognises itself and never execs again; a child process (another id) decides anew.
    public static let reexecGuard = "WORKBENCH_BLAS_REEXEC"
    /// Set before re-executing: the `OPENBLAS_CORETYPE` the process inherited ("" when unset).
    public static let inheritedCoreType = "WORKBENCH_INHERITED_OPENBLAS_CORETYPE"
}

/// The runtime options as found by scanning the raw command line before ArgumentParser runs
/// (`--blas-kernel X`, `--blas-kernel=X`, `--threads N`, `--threads=N`, in any position up
/// to a `--` terminator; the last occurrence wins). Values are kept as text: ArgumentParser
/// validates them afterwards and reports mistakes.
public struct RuntimeArguments: Equatable, Sendable {
    public var blasKernel: String?
    public var threads: String?

    public init(blasKernel: String? = nil, threads: String? = nil) {
        self.blasKernel = blasKernel
        self.threads = threads
    }

    /// Scans `arguments` (without the program name).
    public static func scan(_ arguments: [String]) -> RuntimeArguments {
        var found = RuntimeArguments()
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            if argument == "--" { break }
            for (flag, keyPath) in [("--blas-kernel", \RuntimeArguments.blasKernel), ("--threads", \.threads)] {
                if argument == flag, i + 1 < arguments.count {
                    found[keyPath: keyPath] = arguments[i + 1]
                    i += 1
                } else if argument.hasPrefix(flag + "=") {
                    found[keyPath: keyPath] = String(argument.dropFirst(flag.count + 1))
                }
            }
            i += 1
        }
        return found
    }
}

/// What the CLI does at process start, decided from the command line, the environment and the
/// CPU: whether to re-execute with another `OPENBLAS_CORETYPE`, and which thread count to set.
///
/// Precedence: `--blas-kernel` › `WORKBENCH_BLAS_KERNEL` › `auto`; `--threads` ›
/// `OPENBLAS_NUM_THREADS` (left to OpenBLAS) › all cores. An unparsable value decides nothing
/// here (no re-exec, no thread change): ArgumentParser rejects it with a message.
public struct BLASLaunchPlan: Equatable, Sendable {
    /// The kernel choice in force, or nil when the given text does not parse.
    public var choice: BLASKernelChoice?
    /// The core type the process should run with (nil: leave the environment alone).
    public var wantedCoreType: String?
    /// True when the process must re-execute itself with `environmentChanges` applied.
    public var reexecutes: Bool
    /// Variables to set before re-executing (empty when `reexecutes` is false).
    public var environmentChanges: [String: String]
    /// Thread count to set through `BLAS.setThreadCount`, or nil to leave OpenBLAS's own.
    public var threadCount: Int?

    public init(
        arguments: [String], environment: [String: String], cpu: CPUFeatures,
        processID: Int32, cores: Int
    ) {
        let scanned = RuntimeArguments.scan(arguments)
        let choiceText = scanned.blasKernel ?? environment[RuntimeEnvironment.kernelChoice] ?? "auto"
        choice = BLASKernelChoice(parsing: choiceText)
        wantedCoreType = choice?.coreType(for: cpu)

        let current = environment[RuntimeEnvironment.openBLASCoreType]
        let alreadyReexecuted = environment[RuntimeEnvironment.reexecGuard] == String(processID)
        if let wanted = wantedCoreType,
           current?.lowercased() != wanted.lowercased(),
           !alreadyReexecuted
        {
            reexecutes = true
            environmentChanges = [
                RuntimeEnvironment.openBLASCoreType: wanted,
                RuntimeEnvironment.reexecGuard: String(processID),
                RuntimeEnvironment.inheritedCoreType: current ?? "",
            ]
        } else {
            reexecutes = false
            environmentChanges = [:]
        }

        if let text = scanned.threads {
            threadCount = Int(text).flatMap { $0 >= 1 ? $0 : nil }
        } else if environment[RuntimeEnvironment.openBLASThreads] != nil {
            threadCount = nil
        } else {
            threadCount = max(1, cores)
        }
    }

    /// The `OPENBLAS_CORETYPE` this process inherited from its parent: the value saved before
    /// re-executing if this process is the re-executed one, else the current value.
    public static func inheritedCoreType(environment: [String: String], processID: Int32) -> String? {
        if environment[RuntimeEnvironment.reexecGuard] == String(processID) {
            let saved = environment[RuntimeEnvironment.inheritedCoreType] ?? ""
            return saved.isEmpty ? nil : saved
        }
        return environment[RuntimeEnvironment.openBLASCoreType]
    }
}
