import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Claims one base or cell while a process computes it, so that two processes — two Slurm
/// array tasks, or a task and a person at a terminal — never compute the same part.
///
/// The claim is a file `locks/{part file name}.lock` created with `O_CREAT | O_EXCL`, which is
/// atomic on local file systems and on NFS v3 and later; no `flock` is involved. It holds the
/// claimant's host name, pid and Slurm job id. A claim is stale, and is taken over, when its
/// holder is on this host and its pid is gone (kill -9, a node that rebooted), or — on another
/// host, where the pid cannot be checked — when the holder has not refreshed it (`refresh`,
/// called as training progresses) for `staleAfter` seconds. Otherwise the second claimant is
/// refused with the holder named. Correctness never depends on the claim: parts are committed
/// atomically under names fixed by their identity, so even two writers would write the same file.
public final class PartLock {
    /// Seconds without a refresh after which another host's claim is taken over.
    public static let staleAfter: Double = 600
    /// Seconds between refreshes (`refresh` is cheap to call more often).
    static let refreshEvery: Double = 30

    public let url: URL
    private var held = true
    private var lastRefresh = Date()

    /// The holder written into a claim: `host pid job`.
    struct Holder: Equatable {
        var host: String
        var pid: Int32
        var job: String

        static var current: Holder {
            Holder(host: ProcessInfo.processInfo.hostName, pid: getpid(),
                   job: ProcessInfo.processInfo.environment["SLURM_JOB_ID"].map { "slurm job \($0)" } ?? "no job id")
        }
        var line: String { "\(host) \(pid) \(job)\n" }

        init(host: String, pid: Int32, job: String) { self.host = host; self.pid = pid; self.job = job }
        init?(line: String) {
            let parts = line.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ", maxSplits: 2).map(String.init)
            guard parts.count == 3, let pid = Int32(parts[1]) else { return nil }
            self.init(host: parts[0], pid: pid, job: parts[2])
        }
    }

    /// Claims the part whose file is `partFile`; `what` names it in a refusal ("cell 3 (lora/seed0)").
    ///
    /// - Throws: `RunnerError.partLocked` when a live holder has it, `RunnerError.io` when the
    ///   locks folder cannot be written.
    public init(locksFolder: URL, partFile: URL, what: String) throws {
        url = locksFolder.appendingPathComponent(partFile.lastPathComponent + ".lock")
        for _ in 0..<2 {
            if try Self.create(url) { return }
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { continue }  // released meanwhile
            let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
            let age = (attributes?[.modificationDate] as? Date).map { Date().timeIntervalSince($0) } ?? 0
            let holder = Holder(line: text)
            if Self.isStale(holder, age: age) {
                // Remove it only if it is still the claim judged stale.
                if (try? String(contentsOf: url, encoding: .utf8)) == text { try? FileManager.default.removeItem(at: url) }
                continue
            }
            throw RunnerError.partLocked(part: what, holder: holder.map { "pid \($0.pid) on \($0.host) (\($0.job))" } ?? "another process",
                                         lock: url.path, age: age)
        }
        throw RunnerError.partLocked(part: what, holder: "another process", lock: url.path, age: 0)
    }

    static func isStale(_ holder: Holder?, age: Double) -> Bool {
        guard let holder else { return age > staleAfter }
        if holder.host == ProcessInfo.processInfo.hostName {
            if holder.pid == getpid() { return false }
            return kill(holder.pid, 0) != 0 && errno == ESRCH
        }
        return age > staleAfter
    }

    /// Creates the claim file exclusively; false if it already exists.
    static func create(_ url: URL) throws -> Bool {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        if fd < 0 {
            if errno == EEXIST { return false }
            throw RunnerError.io(path: url.path, detail: "cannot create lock: \(String(cString: strerror(errno)))")
        }
        let line = Array(Holder.current.line.utf8)
        _ = line.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        return true
    }

    /// Marks the claim alive (its modification time), at most every `refreshEvery` seconds.
    public func refresh() {
        guard held, Date().timeIntervalSince(lastRefresh) >= Self.refreshEvery else { return }
        lastRefresh = Date()
        utimes(url.path, nil)
    }

    /// Gives the part up (also done by `deinit`).
    public func release() {
        guard held else { return }
        held = false
        try? FileManager.default.removeItem(at: url)
    }

    deinit { release() }
}
