import Foundation

/// How one run of `workbench` on a fuzzed input ended.
enum FuzzVerdict: String, CaseIterable {
    /// Exit 0.
    case succeeded
    /// Exit 1 with exactly one error line (`workbench …: …`), the last line on stderr.
    case refused
    /// Exit 1 with one error line, but after training had started (progress printed): an error
    /// that validation should have caught before the first step.
    case lateError
    /// Killed at the time limit while still printing progress: a valid, slow case, not a hang.
    case stopped
    /// Refused, but it left a file or folder behind in the case's output folder.
    case leftFiles
    /// Any other exit status, or exit 1 with no error line or more than one.
    case untidy
    /// Ended by a signal (a Swift trap, an abort, a segmentation fault).
    case crashed
    /// Killed at the time limit with nothing printed.
    case hung

    var isFailure: Bool { [.lateError, .leftFiles, .untidy, .crashed, .hung].contains(self) }
}

/// One finished run: its verdict, exit status or signal, stderr lines and wall time.
struct FuzzOutcome {
    let verdict: FuzzVerdict
    let status: Int32
    let stderrLines: [String]
    let seconds: Double

    var errorLine: String? { stderrLines.last { $0.hasPrefix("workbench") || $0.hasPrefix("Error:") } }
}

/// Runs the `workbench` executable built beside the tests under a time limit and an address-space
/// limit (so that an allocation the memory estimate missed aborts instead of taking the machine).
enum WorkbenchProcess {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `.build/debug/workbench` (or the one next to the test bundle).
    static var executable: URL? {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("workbench"),
            packageRoot.appendingPathComponent(".build/debug/workbench"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// A progress line of the runner (`base seed0 [###…] 3/10 …`, `[1/2] full seed0 task …`).
    static func isProgress(_ line: String) -> Bool {
        !line.hasPrefix("workbench") && line.contains("[") && (line.contains("/") || line.contains("done in"))
    }

    /// Runs `workbench arguments` in `folder` (stdout and stderr to files there) and classifies
    /// the end. `outputFolder`: where a refused run must leave nothing.
    static func run(_ arguments: [String], in folder: URL, timeLimit: Double, memoryLimitGiB: Int = 6,
                    outputFolder: URL? = nil) throws -> FuzzOutcome {
        guard let executable else { throw FuzzHarnessError("workbench executable not found; run `swift build` first") }
        let stdoutURL = folder.appendingPathComponent("stdout.txt"), stderrURL = folder.appendingPathComponent("stderr.txt")
        FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        let stdout = try FileHandle(forWritingTo: stdoutURL), stderr = try FileHandle(forWritingTo: stderrURL)
        defer { try? stdout.close(); try? stderr.close() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        // `ulimit -v` bounds the address space; `exec` makes the status and signal workbench's own.
        process.arguments = ["-c", "ulimit -v \(memoryLimitGiB << 20) && exec \"$0\" \"$@\"", executable.path] + arguments
        process.currentDirectoryURL = folder
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["WORKBENCH_OFFLINE": "1", "OPENBLAS_NUM_THREADS": "1", "WORKBENCH_BLAS_KERNEL": "inherit"]) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdout
        process.standardError = stderr
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        let start = Date()
        try process.run()
        let timedOut = finished.wait(timeout: .now() + timeLimit) == .timedOut
        if timedOut {
            kill(process.processIdentifier, SIGKILL)
            finished.wait()
        }
        let seconds = Date().timeIntervalSince(start)
        let lines = String(decoding: (try? Data(contentsOf: stderrURL)) ?? Data(), as: UTF8.self)
            .split(whereSeparator: { $0 == "\n" || $0 == "\r" }).map(String.init).filter { !$0.isEmpty }
        let status = process.terminationStatus
        let verdict: FuzzVerdict
        if timedOut {
            verdict = lines.contains(where: isProgress) ? .stopped : .hung
        } else if process.terminationReason == .uncaughtSignal {
            verdict = .crashed
        } else if status == 0 {
            verdict = .succeeded
        } else if status == 1 {
            let errorLines = lines.filter { $0.hasPrefix("workbench") || $0.hasPrefix("Error:") || $0.hasPrefix("error:") }
            let oneLine = errorLines.count == 1 && errorLines[0] == lines.last && errorLines[0].hasPrefix("workbench ")
            let started = lines.contains(where: isProgress)
            if !oneLine {
                verdict = .untidy
            } else if started {
                verdict = .lateError
            } else if let outputFolder, let left = try? FileManager.default.contentsOfDirectory(atPath: outputFolder.path), !left.isEmpty {
                verdict = .leftFiles
            } else {
                verdict = .refused
            }
        } else {
            verdict = .untidy
        }
        return FuzzOutcome(verdict: verdict, status: status, stderrLines: lines, seconds: seconds)
    }
}

struct FuzzHarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
