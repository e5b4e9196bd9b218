import Foundation

/// An open HDF5 file; closed when the last reference (including its groups and datasets) goes.
///
/// Opening never crashes or hangs on a bad file: `FileSeal.verify` checks a workbench file's
/// checksum first, and a missing, truncated, damaged or non-HDF5 file throws one `HDF5Error`
/// naming the path and the reason. HDF5's file locking is off (see `H5.fileAccessList`): files
/// are written once through `HDF5Transaction`, never in place.
public final class HDF5File {
    /// Where the file is on disk.
    public let url: URL
    /// Whether the file was opened for writing.
    public let isWritable: Bool
    let handle: H5Handle

    init(url: URL, handle: H5Handle, isWritable: Bool) {
        self.url = url
        self.handle = handle
        self.isWritable = isWritable
    }

    /// Opens an existing HDF5 file, read-only unless `writable`, after `FileSeal.verify` has
    /// checked it (a workbench file's content checksum; a plain HDF5 file passes unchecked).
    ///
    /// Writing in place is not crash-safe; prefer `HDF5Transaction.update(at:)` for results files.
    /// Call first thing in `main`, before any HDF5 call: the process then ends without HDF5's
    /// at-exit clean-up, so an error (a full disk) is the last thing it prints.
    public static func prepareProcess() {
        _ = H5.withoutCleanupAtExit
    }

    public static func open(_ url: URL, writable: Bool = false) throws -> HDF5File {
        do {
            _ = try FileSeal.verify(url)
        } catch let error as FileSealError {
            throw HDF5Error(call: "verify", status: nil, file: url.path, object: nil, detail: error.reason)
        }
        return try openChecked(url, writable: writable)
    }

    /// Opens a file whose seal the caller has just verified (no second pass over its bytes).
    static func openChecked(_ url: URL, writable: Bool = false) throws -> HDF5File {
        let handle = try H5.openFile(url.path, writable: writable)
        return HDF5File(url: url, handle: handle, isWritable: writable)
    }

    var location: H5Where { H5Where(file: url.path, object: nil) }

    /// The root group "/".
    public func root() throws -> HDF5Group {
        precondition(handle.isOpen, "HDF5File \(url.path) used after close")
        let group = try H5.openGroup(handle.id, "/", location.appending("/"))
        return HDF5Group(file: self, path: "/", handle: group)
    }

    /// Whether the root carries the completeness marker `workbench_complete = 1`, written last
    /// by `HDF5Transaction.commit()`.
    public func isComplete() throws -> Bool {
        let root = try root()
        guard try root.hasAttribute(HDF5Transaction.completeMarker) else { return false }
        return try root.attribute(HDF5Transaction.completeMarker) == .integer(1)
    }

    /// Closes the file now; groups and datasets obtained from it become unusable.
    /// Throws if HDF5 fails to flush and close.
    public func close() throws {
        try H5.closeFile(handle, location)
    }

    /// Whether the file is still open.
    public var isOpen: Bool { handle.isOpen }
}
