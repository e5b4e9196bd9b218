#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import PEFTEngine
import Workbench

/// Applies the workbench's OpenBLAS kernel and thread choice at process start, before
/// ArgumentParser runs.
///
/// OpenBLAS reads `OPENBLAS_CORETYPE` once, when the dynamic loader maps it — before `main`.
/// So when the wanted core type differs from the inherited one, the process sets the variable
/// (plus a guard holding its pid and the inherited value, see `RuntimeEnvironment`) and
/// re-executes itself once through `/proc/self/exe` with the same arguments. If `execv` fails,
/// the process carries on with the inherited kernel and says so on stderr.
enum BLASKernelLauncher {
    static func applyAtProcessStart() {
        let process = ProcessInfo.processInfo
        let plan = BLASLaunchPlan(
            arguments: Array(CommandLine.arguments.dropFirst()), environment: process.environment,
            cpu: BLAS.cpuFeatures(), processID: getpid(), cores: process.activeProcessorCount)

        if plan.reexecutes {
            let original = plan.environmentChanges.keys.map { ($0, getenv($0).map { String(cString: $0) }) }
            for (name, value) in plan.environmentChanges { setenv(name, value, 1) }
            execv("/proc/self/exe", CommandLine.unsafeArgv)
            // execv returns only on failure: undo the variables so reports stay truthful.
            let reason = String(cString: strerror(errno))
            for (name, value) in original {
                if let value { setenv(name, value, 1) } else { unsetenv(name) }
            }
            let line = "workbench: warning: could not re-execute with OPENBLAS_CORETYPE="
                + "\(plan.wantedCoreType ?? "?") (execv /proc/self/exe: \(reason)); "
                + "continuing with kernel \(BLAS.kernelName)\n"
            FileHandle.standardError.write(Data(line.utf8))
        }
        if let threads = plan.threadCount {
            BLAS.setThreadCount(threads)
        }
    }
}
