import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive advisory lock (`flock`) on `OUTPUT.lock`, held while a study writes OUTPUT.
///
/// `HDF5Transaction` needs a single writer per file (two concurrent updates: the later rename
/// wins), so the runner takes this lock first. The holder writes its pid into the lock file so
/// that a refused process can name it. The kernel drops the lock when the holder exits, even
/// on kill -9; the lock file itself stays (harmless, reused next time).
public final class OutputLock {
    public let lockURL: URL
    private var descriptor: Int32

    /// Takes the lock for `output` or throws `RunnerError.outputLocked` naming the holder's pid.
    public init(output: URL) throws {
        lockURL = URL(fileURLWithPath: output.path + ".lock")
        let fd = open(lockURL.path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else {
            throw RunnerError.io(path: lockURL.path, detail: "cannot open lock file: \(String(cString: strerror(errno)))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buffer, buffer.count, 0)
            close(fd)
            let text = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
            throw RunnerError.outputLocked(output: output.path, pid: Int(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        descriptor = fd
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBufferPointer { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    /// Releases the lock (also done by `deinit`).
    public func release() {
        guard descriptor >= 0 else { return }
        _ = ftruncate(descriptor, 0)
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}
