import Foundation

/// The content checksum of every file the workbench commits, and its check before HDF5 parses
/// a file. Debian's HDF5 1.10.8 can loop forever on one flipped metadata bit, and a flipped bit
/// in raw data goes unnoticed by HDF5; so a file is verified before it is opened.
///
/// Layout: the file is created with a 512-byte HDF5 user block (HDF5 then starts its
/// superblock at byte 512 and ignores bytes 0..<512; h5py and `h5dump` read such files as any
/// other). `seal` writes the header into it after the file is closed:
///
///     bytes  0..<8   magic "WBXXH64\0"
///     bytes  8..<16  payload length n = file size − 512 (UInt64, little-endian)
///     bytes 16..<24  XXH64 of bytes 512..<512 + n (seed 0)
///     bytes 24..<32  XXH64 of bytes 0..<24: the header's own check
///
/// A file that begins with HDF5's signature instead was not written by this version of the
/// workbench (an older results file or someone else's checkpoint): it is `unsealed`, opened
/// as it is. Anything else — a damaged header, a length or checksum that disagrees — is one
/// `FileSealError` naming the file, before HDF5 sees a byte of it.
public enum FileSeal {
    /// Size of the user block every committed workbench file starts with.
    public static let userBlockSize = 512
    static let magic: [UInt8] = Array("WBXXH64".utf8) + [0]
    static let hdf5Signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
    static let chunkSize = 4 << 20

    /// What `verify` found.
    public enum Status: Equatable, Sendable {
        /// The header's checksum matches the content.
        case sealed(checksum: UInt64)
        /// A plain HDF5 file without a workbench header (not checked).
        case unsealed
    }

    /// Writes the header of the closed HDF5 file at `url` (created with `userBlockSize`).
    @discardableResult
    public static func seal(_ url: URL) throws -> UInt64 {
        let fd = Foundation.open(url.path, O_RDWR)
        guard fd >= 0 else { throw FileSealError(path: url.path, reason: "cannot open to seal: \(String(cString: strerror(errno)))") }
        defer { Foundation.close(fd) }
        let size = Int(lseek(fd, 0, SEEK_END))
        guard size >= userBlockSize else { throw FileSealError(path: url.path, reason: "only \(size) bytes: no user block to seal") }
        var first = [UInt8](repeating: 0, count: 8)
        guard pread(fd, &first, 8, off_t(userBlockSize)) == 8, first == hdf5Signature else {
            throw FileSealError(path: url.path, reason: "HDF5's superblock is not at byte \(userBlockSize): the file was not created with a user block")
        }
        let payload = size - userBlockSize
        let checksum = try contentChecksum(fd: fd, from: userBlockSize, count: payload, path: url.path)
        var header = magic
        header += littleEndianBytes(UInt64(payload)) + littleEndianBytes(checksum)
        header += littleEndianBytes(XXHash64.hash(header))
        guard pwrite(fd, header, header.count, 0) == header.count else {
            throw FileSealError(path: url.path, reason: "writing the checksum header failed: \(String(cString: strerror(errno)))")
        }
        return checksum
    }

    /// Checks the file at `url` before anything parses it.
    ///
    /// - Throws: `FileSealError` for a file that is missing, not a regular file, neither sealed
    ///   nor HDF5, or whose header, length or content checksum disagrees.
    public static func verify(_ url: URL) throws -> Status {
        let path = url.path
        var info = stat()
        guard stat(path, &info) == 0 else { throw FileSealError(path: path, reason: String(cString: strerror(errno))) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw FileSealError(path: path, reason: "not a regular file") }
        let fd = Foundation.open(path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { throw FileSealError(path: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { Foundation.close(fd) }
        var header = [UInt8](repeating: 0, count: 32)
        let got = pread(fd, &header, 32, 0)
        if got >= 8 && Array(header[0..<8]) == hdf5Signature { return .unsealed }
        guard got == 32, Array(header[0..<8]) == magic else {
            throw FileSealError(path: path, reason: "neither a workbench file (no checksum header) nor an HDF5 file")
        }
        guard XXHash64.hash(Array(header[0..<24])) == readLittleEndian(header, 24) else {
            throw FileSealError(path: path, reason: "the checksum header itself is damaged")
        }
        let size = Int(info.st_size)
        let payload = Int(readLittleEndian(header, 8))
        guard size - userBlockSize == payload else {
            throw FileSealError(path: path, reason: "\(size) bytes, but the header says \(payload + userBlockSize): the file was truncated or extended")
        }
        let expected = readLittleEndian(header, 16)
        let actual = try contentChecksum(fd: fd, from: userBlockSize, count: payload, path: path)
        guard actual == expected else {
            throw FileSealError(path: path, reason: String(format: "content checksum %016llx, header says %016llx: the file is damaged", actual, expected))
        }
        return .sealed(checksum: actual)
    }

    static func contentChecksum(fd: Int32, from offset: Int, count: Int, path: String) throws -> UInt64 {
        var hasher = XXHash64()
        var buffer = [UInt8](repeating: 0, count: min(chunkSize, max(count, 1)))
        var done = 0
        while done < count {
            let want = min(buffer.count, count - done)
            let read = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(offset + done)) }
            guard read > 0 else { throw FileSealError(path: path, reason: "reading at byte \(offset + done) failed: \(read < 0 ? String(cString: strerror(errno)) : "end of file")") }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<read])) }
            done += read
        }
        return hasher.finalize()
    }

    static func littleEndianBytes(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    static func readLittleEndian(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * $1) }
    }
}

/// A file failed its check before opening: one line naming the file and what is wrong.
public struct FileSealError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}
