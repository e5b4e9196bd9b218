import Foundation

/// The temporary-file protocol of the store: names, liveness of their writers, and cleanup.
///
/// A file NAME is written as ".NAME.tmp-PID" in the same folder (same file system, so the
/// final `rename` is atomic), then closed, fsynced, renamed onto NAME, and the folder fsynced.
/// A writer killed at any point leaves at most a ".NAME.tmp-PID" whose PID is dead; the next
/// transaction in that folder removes it. A temporary whose PID belongs to a live process is
/// left alone (that process may still be writing); one carrying this process's own PID is
/// removed only if no transaction of this process is using it.
public enum HDF5TemporaryFiles {
    /// The temporary name for `destination` in this process.
    public static func temporaryURL(for destination: URL) -> URL {
        destination.deletingLastPathComponent()
            .appendingPathComponent(".\(destination.lastPathComponent).tmp-\(getpid())")
    }

    /// The writer PID encoded in a temporary's file name, or nil if `name` is not a temporary.
    public static func writerPID(ofTemporaryNamed name: String) -> Int32? {
        guard name.hasPrefix("."), let marker = name.range(of: ".tmp-", options: .backwards),
              marker.lowerBound > name.index(after: name.startIndex) else { return nil }
        let digits = name[marker.upperBound...]
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return Int32(digits)
    }

    /// Whether process `pid` exists (signal 0 probes without signalling).
    static func processIsAlive(_ pid: Int32) -> Bool {
        if pid <= 0 { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// Removes the stale temporaries in `directory` and returns the ones removed.
    @discardableResult
    public static func removeStale(in directory: URL) throws -> [URL] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        var removed: [URL] = []
        for name in names {
            guard let pid = writerPID(ofTemporaryNamed: name) else { continue }
            let url = directory.appendingPathComponent(name)
            let stale = pid == getpid() ? !isActive(url) : !processIsAlive(pid)
            guard stale else { continue }
            do {
                try FileManager.default.removeItem(at: url)
                removed.append(url)
            } catch CocoaError.fileNoSuchFile {
                continue  // another cleaner got there first
            }
        }
        return removed
    }

    // MARK: Temporaries in use by this process

    nonisolated(unsafe) private static var active: Set<String> = []
    private static let lock = NSLock()

    static func isActive(_ url: URL) -> Bool {
        lock.withLock { active.contains(url.standardizedFileURL.path) }
    }

    /// Claims `url` for a transaction of this process; false if one already holds it.
    static func claim(_ url: URL) -> Bool {
        lock.withLock { active.insert(url.standardizedFileURL.path).inserted }
    }

    static func release(_ url: URL) {
        _ = lock.withLock { active.remove(url.standardizedFileURL.path) }
    }

    // MARK: Durability

    /// fsync of a file or directory, so a rename is not persisted before the data it names.
    static func synchronize(_ url: URL) throws {
        let descriptor = open(url.path, O_RDONLY)
        if descriptor < 0 { throw posixError("open", url) }
        defer { close(descriptor) }
        if fsync(descriptor) != 0 { throw posixError("fsync", url) }
    }

    static func posixError(_ call: String, _ url: URL) -> HDF5Error {
        let code = errno
        return HDF5Error(call: call, status: Int64(code), file: url.path, object: nil,
                         detail: String(cString: strerror(code)))
    }
}
