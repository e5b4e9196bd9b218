import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// `workbench run` as separate processes: killed with SIGKILL at growing delays and started
/// again, it ends with the results of an uninterrupted run; a second process on a locked output
/// is refused with a message naming the holder. Uses the `workbench` executable built beside
/// the test bundle (`swift build` / `swift test` build it).
@Suite("Study runner: separate processes", .serialized)
struct RunnerProcessTests {
    /// The `workbench` executable next to the running test binary, or in `.build/debug`.
    static var executable: URL? {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("workbench"),
            packageRoot.appendingPathComponent(".build/debug/workbench"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    static func workbench(_ arguments: [String], in folder: URL) throws -> Process {
        guard let executable else {
            throw RunnerError.io(path: "workbench", detail: "executable not found beside the tests; run `swift build` first")
        }
        let process = Process()
        process.executableURL = executable
        // Same kernel and thread count in every run, so results are bit-comparable.
        process.arguments = arguments + ["--blas-kernel", "inherit", "--threads", "1"]
        process.currentDirectoryURL = folder
        process.standardOutput = FileHandle.nullDevice
        process.standardError = Pipe()
        try process.run()
        return process
    }

    static func stderr(of process: Process) -> String {
        let data = (process.standardError as? Pipe)?.fileHandleForReading.readDataToEndOfFile() ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// Every dataset of every cell (accuracy, loss curves, ΔW, trainable state) as bit patterns.
    static func cellContents(_ url: URL) throws -> [String: [UInt64]] {
        let file = try HDF5File.open(url)
        defer { try? file.close() }
        let root = try file.root()
        var out: [String: [UInt64]] = [:]
        for cell in ["runs/full/seed0", "runs/lora/seed0"] {
            out[cell + "/accuracy"] = try root.readArray(cell + "/accuracy", as: Double.self).values.map(\.bitPattern)
            for t in 1...2 {
                out[cell + "/loss\(t)"] = try root.readArray("\(cell)/after_task\(t)/loss", as: Float.self).values.map { UInt64($0.bitPattern) }
                for name in ["blocks.0.attn.q.weight", "blocks.0.mlp.fc.weight"] {
                    out["\(cell)/delta\(t)/\(name)"] = try root.readTensor("\(cell)/after_task\(t)/delta/\(name)").storage.map { UInt64($0.bitPattern) }
                }
            }
        }
        out["base/wte"] = try root.readTensor("seed0/base/weights/wte").storage.map { UInt64($0.bitPattern) }
        return out
    }

    @Test("kill -9 at growing delays, restart each time: the finished file equals an uninterrupted run's, no temporaries left")
    func killAndRestart() throws {
        try withTemporaryFolder { folder in
            let study = folder.appendingPathComponent("study.yaml")
            try tinyStudyText(trainingSteps: 40).write(to: study, atomically: true, encoding: .utf8)
            let reference = try Self.workbench(["run", study.path, "--output", "reference.h5"], in: folder)
            reference.waitUntilExit()
            #expect(reference.terminationStatus == 0, "\(Self.stderr(of: reference))")

            var killed = 0, killedAfterACommit = 0
            var delay = 0.15
            while killed < 30 {
                let run = try Self.workbench(["run", study.path, "--output", "results.h5"], in: folder)
                Thread.sleep(forTimeInterval: delay)
                guard run.isRunning else {
                    run.waitUntilExit()
                    #expect(run.terminationStatus == 0, "\(Self.stderr(of: run))")
                    break
                }
                if FileManager.default.fileExists(atPath: folder.appendingPathComponent("results.h5").path) { killedAfterACommit += 1 }
                kill(run.processIdentifier, SIGKILL)
                run.waitUntilExit()
                #expect(run.terminationReason == .uncaughtSignal)
                killed += 1
                delay *= 1.4
            }
            #expect(killed >= 1, "the run was never interrupted: it finished within \(delay) s")
            #expect(killedAfterACommit >= 1, "no kill landed after the first commit")
            // A last run finds every cell in the file (or completes the last one).
            let last = try Self.workbench(["run", study.path, "--output", "results.h5"], in: folder)
            last.waitUntilExit()
            #expect(last.terminationStatus == 0, "\(Self.stderr(of: last))")

            let resumed = try Self.cellContents(folder.appendingPathComponent("results.h5"))
            let uninterrupted = try Self.cellContents(folder.appendingPathComponent("reference.h5"))
            #expect(resumed.keys.sorted() == uninterrupted.keys.sorted())
            for key in uninterrupted.keys.sorted() {
                #expect(resumed[key] == uninterrupted[key], "\(key) differs after \(killed) kills")
            }
            let leftovers = (FileManager.default.enumerator(atPath: folder.path)?.allObjects as? [String] ?? []).filter { $0.contains(".tmp-") }
            #expect(leftovers.isEmpty, "stale temporaries: \(leftovers)")
        }
    }

    @Test("a second process on a claimed part exits 1 with a message naming the holder's pid, and computes nothing")
    func secondProcessIsRefused() throws {
        try withTemporaryFolder { folder in
            let study = folder.appendingPathComponent("study.yaml")
            try tinyStudyText().write(to: study, atomically: true, encoding: .utf8)
            let output = folder.appendingPathComponent("results.h5")
            let runner = try StudyRunner(study: try Study.load(contentsOf: study.path, workingDirectory: folder.path), output: output,
                                         runtime: RuntimeInfo.current(requested: .inherit))
            try FileManager.default.createDirectory(at: runner.layout.locksFolder, withIntermediateDirectories: true)
            let base = runner.plan(verify: false).bases[0]
            let holder = try PartLock(locksFolder: runner.layout.locksFolder, partFile: base.file, what: base.name)
            defer { holder.release() }
            let second = try Self.workbench(["run", study.path, "--output", output.path], in: folder)
            let message = Self.stderr(of: second)
            second.waitUntilExit()
            #expect(second.terminationStatus == 1)
            let pid = ProcessInfo.processInfo.processIdentifier
            #expect(message.contains("workbench run: base 0 (seed0) is being computed by pid \(pid) on "), "\(message)")
            #expect(message.contains(holder.url.path), "\(message)")
            #expect(!FileManager.default.fileExists(atPath: base.file.path))
        }
    }

    @Test("a full disk (a file-size limit, SIGXFSZ ignored) at the index and at a part: exit 1 with one line naming the cause, no crash, no temporary left; freed, the run resumes to a sound study")
    func fullDisk() throws {
        guard let executable = Self.executable else { Issue.record("workbench executable not built"); return }
        for limitKiB in [8, 40] {
            try withTemporaryFolder { folder in
                try tinyStudyText().write(to: folder.appendingPathComponent("study.yaml"), atomically: true, encoding: .utf8)
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/bin/bash")
                process.arguments = ["-c", "trap '' XFSZ; ulimit -f \(limitKiB); exec \"$0\" \"$@\"", executable.path,
                                     "run", "study.yaml", "--output", "results.h5", "--blas-kernel", "inherit", "--threads", "1"]
                process.currentDirectoryURL = folder
                process.standardOutput = FileHandle.nullDevice
                process.standardError = Pipe()
                try process.run()
                let lines = Self.stderr(of: process).split(separator: "\n").filter { !$0.contains("[") }
                process.waitUntilExit()
                #expect(process.terminationReason == .exit && process.terminationStatus == 1, "limit \(limitKiB) KiB")
                #expect(lines.count == 1 && lines.last?.hasPrefix("workbench run: ") == true
                        && lines.last?.contains("ulimit -f") == true, "\(lines)")
                let leftovers = (FileManager.default.enumerator(atPath: folder.path)?.allObjects as? [String] ?? []).filter { $0.contains(".tmp-") }
                #expect(leftovers.isEmpty, "stale temporaries: \(leftovers)")

                let resumed = try Self.workbench(["run", "study.yaml", "--output", "results.h5"], in: folder)
                resumed.waitUntilExit()
                #expect(resumed.terminationStatus == 0, "\(Self.stderr(of: resumed))")
                let verify = try StudyVerification.run(index: folder.appendingPathComponent("results.h5"))
                #expect(verify.isSound)
            }
        }
    }
}
