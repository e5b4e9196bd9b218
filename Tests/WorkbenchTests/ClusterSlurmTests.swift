import Foundation
import Testing
@testable import Workbench

/// A study run as Slurm job arrays on a real Slurm — munged, slurmctld and slurmd started on
/// 127.0.0.1 by `scripts/local-slurm.sh` in a temporary folder — through the script `workbench
/// slurm` prints, compared bit for bit with a single-process run. Fails, naming the daemon and
/// its last log line, when Slurm cannot be started; it never skips.
@Suite("Cluster: a study as Slurm job arrays on a real local Slurm", .serialized)
struct ClusterSlurmTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs `executable arguments` (absolute paths: the child keeps this process's working
    /// directory) to the end with `environment` added; returns status, stdout, stderr. Spawned and reaped with posix_spawn/waitpid directly: the daemons the cluster
    /// script starts outlive it, and Foundation's `Process` did not always notice the script end.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], in folder: URL, environment: [String: String] = [:],
                    timeout: Double = 300) throws -> (status: Int32, out: String, err: String) {
        let outURL = folder.appendingPathComponent(".out-\(UUID().uuidString)"), errURL = folder.appendingPathComponent(".err-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: outURL); try? FileManager.default.removeItem(at: errURL) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outURL.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errURL.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard spawned == 0 else { throw RunnerError.io(path: executable, detail: "posix_spawn failed: \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(timeout)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline { kill(pid, SIGKILL); waitpid(pid, &status, 0); break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let exit: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let out = (try? String(contentsOf: outURL, encoding: .utf8)) ?? "", err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        return (exit, out, err)
    }

    /// Accuracy matrices, loss curves, every ΔW of every cell and every base weight, as bits.
    static func contents(_ index: URL) throws -> [String: [UInt64]] {
        let results = try StudyResults(url: index)
        var out: [String: [UInt64]] = [:]
        for cell in results.cells {
            out[cell.path + "/accuracy"] = try results.accuracy(cell).flatMap { $0 }.map(\.bitPattern)
            for t in 1...cell.taskCount {
                out["\(cell.path)/loss\(t)"] = try results.group(cell).readArray("after_task\(t)/loss", as: Float.self).values.map { UInt64($0.bitPattern) }
                for name in try results.deltaNames(cell, afterTask: t) {
                    out["\(cell.path)/delta\(t)/\(name)"] = try results.delta(cell, afterTask: t, name: name).storage.map { UInt64($0.bitPattern) }
                }
            }
        }
        for seed in results.seeds {
            for name in try results.baseWeightNames(seed: seed) {
                out["seed\(seed)/\(name)"] = try results.baseWeight(seed: seed, name: name).storage.map { UInt64($0.bitPattern) }
            }
        }
        return out
    }

    @Test("bases, then cells (afterok), then verify as job arrays: the results equal a single-process run bit for bit")
    func jobArrays() throws {
        guard let workbench = RunnerProcessTests.executable?.path else {
            Issue.record("the workbench executable is not built beside the tests")
            return
        }
        try withTemporaryFolder { folder in
            let cluster = folder.appendingPathComponent("cluster")
            try FileManager.default.createDirectory(at: cluster, withIntermediateDirectories: true)
            let script = Self.packageRoot.appendingPathComponent("scripts/local-slurm.sh").path
            let started = try Self.run("/bin/bash", [script, "start", cluster.path], in: folder, timeout: 60)
            defer { _ = try? Self.run("/bin/bash", [script, "stop", cluster.path], in: folder, timeout: 30) }
            guard started.status == 0 else {
                Issue.record("Slurm could not be started: \(started.err)\(started.out)")
                return
            }
            let slurm = ["SLURM_CONF": cluster.appendingPathComponent("slurm.conf").path]

            let study = folder.appendingPathComponent("study.yaml")
            try tinyStudyText().replacingOccurrences(of: "seeds: [0]", with: "seeds: [0, 1]")
                .write(to: study, atomically: true, encoding: .utf8)
            // The same invocation the jobs make: the default kernel choice, one thread.
            let reference = try Self.run(workbench, ["--threads", "1", "run", study.path, "--output", folder.appendingPathComponent("reference.h5").path], in: folder)
            #expect(reference.status == 0, "\(reference.err)")

            let submit = try Self.run(workbench, ["slurm", study.path, "--output", folder.appendingPathComponent("results.h5").path,
                                                      "--logs", folder.appendingPathComponent("logs").path, "--time", "00:10:00"], in: folder)
            #expect(submit.status == 0, "\(submit.err)")
            #expect(submit.out.contains("--array=0-1") && submit.out.contains("--array=0-3") && submit.out.contains("--dependency=afterok:"))
            try submit.out.write(to: folder.appendingPathComponent("submit.sh"), atomically: true, encoding: .utf8)
            let submitted = try Self.run("/bin/bash", [folder.appendingPathComponent("submit.sh").path], in: folder, environment: slurm, timeout: 60)
            #expect(submitted.status == 0, "sbatch failed: \(submitted.err)")
            guard submitted.status == 0 else { return }

            // Wait for the queue to drain (bases, then cells, then the check).
            let deadline = Date().addingTimeInterval(170)
            var queue = ""
            repeat {
                Thread.sleep(forTimeInterval: 1)
                queue = try Self.run("/usr/bin/squeue", ["-h"], in: folder, environment: slurm, timeout: 20).out
            } while !queue.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty && Date() < deadline
            #expect(queue.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "jobs still queued after the deadline:\n\(queue)")

            let logs = (try? FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("logs").path)) ?? []
            #expect(logs.filter { $0.contains("-bases-") }.count == 2 && logs.filter { $0.contains("-cells-") }.count == 4, "\(logs.sorted())")
            let verifyLog = try #require(logs.first { $0.contains("-verify-") }, "no log of the verify job: \(logs.sorted())")
            let verified = try String(contentsOf: folder.appendingPathComponent("logs/" + verifyLog), encoding: .utf8)
            #expect(verified.contains("sound: every part is complete and intact"), "\(verified)")

            let gathered = try Self.contents(folder.appendingPathComponent("results.h5"))
            let single = try Self.contents(folder.appendingPathComponent("reference.h5"))
            #expect(gathered.count == single.count && gathered.keys.contains("runs/lora/seed1/accuracy"))
            for key in single.keys.sorted() where gathered[key] != single[key] {
                Issue.record("\(key) differs between the Slurm run and the single-process run")
            }
        }
    }
}
