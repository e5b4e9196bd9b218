import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory (`mmap`, `PROT_READ`, `MAP_PRIVATE`).
///
/// Pages are read on first touch, so opening a multi-GB checkpoint costs no I/O beyond the
/// pages actually read. The mapping is immutable and unmapped in `deinit`; sharing it across
/// threads is safe (read-only memory), hence `@unchecked Sendable`.
final class MappedFile: @unchecked Sendable {
    let path: String
    /// The file's bytes; empty (no mapping) for an empty file.
    let bytes: UnsafeRawBufferPointer

    init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw CheckpointError.missingFile(path: path)
        }
        // A FIFO or a device would block in open(): only regular files are read.
        var kind = stat()
        guard stat(path, &kind) == 0, kind.st_mode & S_IFMT == S_IFREG else {
            throw CheckpointError.unreadable(path: path, detail: "not a regular file")
        }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw CheckpointError.unreadable(path: path, detail: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw CheckpointError.unreadable(path: path, detail: String(cString: strerror(errno)))
        }
        let size = Int(status.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), address != MAP_FAILED else {
            throw CheckpointError.unreadable(path: path, detail: "mmap: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}
