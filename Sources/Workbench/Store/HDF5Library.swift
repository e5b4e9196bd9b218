import CHDF5
import Foundation

/// The only file that imports `CHDF5`: thin Swift functions over the HDF5 1.10 C API.
///
/// Conventions:
/// - every fallible C call goes through `checked(_:_:_:)`, which first switches off HDF5's
///   automatic error printing for the calling thread (Debian's HDF5 is built thread-safe,
///   where the error stack and its auto-print setting are per thread) and turns a negative
///   result into an `HDF5Error` carrying the call, the status, the file and object path, and
///   the outermost and innermost messages of HDF5's error stack;
/// - handles live in `H5Handle`, which closes them in `deinit`;
/// - nothing C-typed leaves this file except `HID` (= `hid_t` = `Int64`).
typealias HID = Int64

/// Where a call happens: the file and, when relevant, the object path — for error messages.
struct H5Where: Sendable {
    var file: String
    var object: String?

    func appending(_ name: String) -> H5Where {
        guard let object else { return H5Where(file: file, object: name) }
        return H5Where(file: file, object: object.hasSuffix("/") ? object + name : object + "/" + name)
    }
}

/// An owned HDF5 identifier, closed by the matching H5*close in `deinit` (or earlier by `close()`).
final class H5Handle {
    enum Kind { case file, object, attribute, dataType, dataSpace, propertyList }
    let id: HID
    let kind: Kind
    private(set) var isOpen = true

    init(_ id: HID, _ kind: Kind) {
        self.id = id
        self.kind = kind
    }

    /// Closes the handle; returns the status of the close call (negative on failure).
    @discardableResult
    func close() -> Int32 {
        guard isOpen else { return 0 }
        isOpen = false
        H5.silenceAutomaticErrorPrinting()
        let status: herr_t
        switch kind {
        case .file: status = H5Fclose(id)
        case .object: status = H5Oclose(id)
        case .attribute: status = H5Aclose(id)
        case .dataType: status = H5Tclose(id)
        case .dataSpace: status = H5Sclose(id)
        case .propertyList: status = H5Pclose(id)
        }
        if status < 0 { H5Eclear2(wb_h5e_default()) }
        return status
    }

    deinit { close() }
}

/// Kinds of object a link can lead to.
enum H5ObjectType { case group, dataset, namedDataType, unknown }

/// What a link in a group is.
enum H5LinkTarget: Equatable {
    case hard(address: UInt64)
    case soft(target: String)
    case external(file: String, object: String)
    case userDefined
}

enum H5 {
    // MARK: Errors

    static func silenceAutomaticErrorPrinting() {
        _ = withoutCleanupAtExit
        _ = H5Eset_auto2(wb_h5e_default(), nil, nil)
    }

    /// Turns off HDF5's clean-up at process exit; effective only before the library's first call
    /// initializes it (`HDF5File.prepareProcess()` at the start of `main`). Every file the
    /// workbench writes is closed (or abandoned as a temporary) explicitly; after a close that
    /// failed on a full disk, that clean-up closed the file's datasets again and crashed
    /// (SIGSEGV in H5D_close) after the error message had been printed.
    static let withoutCleanupAtExit: Void = { _ = H5dont_atexit() }()

    private final class StackMessages { var messages: [String] = [] }

    /// Builds the error for a failed `call` from the current thread's HDF5 error stack, then clears it.
    static func error(_ call: String, status: Int64, _ at: H5Where) -> HDF5Error {
        let box = StackMessages()
        let opaque = Unmanaged.passRetained(box).toOpaque()
        _ = H5Ewalk2(wb_h5e_default(), H5E_WALK_DOWNWARD, { _, entry, data in
            guard let entry, let data else { return 0 }
            let box = Unmanaged<StackMessages>.fromOpaque(data).takeUnretainedValue()
            if let desc = entry.pointee.desc { box.messages.append(String(cString: desc)) }
            return 0
        }, opaque)
        Unmanaged<StackMessages>.fromOpaque(opaque).release()
        H5Eclear2(wb_h5e_default())
        var parts: [String] = []
        if let first = box.messages.first { parts.append(first) }
        if let last = box.messages.last, box.messages.count > 1, let first = parts.first, last != first {
            // The innermost message often repeats the outermost one and adds the reason: keep it alone.
            if last.hasPrefix(first) { parts = [last] } else { parts.append(last) }
        }
        // The file driver's system error ("error message = 'No space left on device'") says why a
        // write or close failed; it sits in the middle of the stack.
        if let system = box.messages.lazy.compactMap(systemReason).first, !parts.contains(where: { $0.contains(system) }) {
            parts.append("system: \(system)")
        }
        return HDF5Error(call: call, status: status, file: at.file, object: at.object,
                         detail: parts.joined(separator: ": "))
    }

    /// The `error message = '…'` of an HDF5 file-driver message, if it has one.
    static func systemReason(_ message: String) -> String? {
        guard let start = message.range(of: "error message = '") else { return nil }
        let rest = message[start.upperBound...]
        guard let end = rest.firstIndex(of: "'") else { return nil }
        return String(rest[..<end])
    }

    /// Runs one C call returning an identifier or a status; throws if it is negative.
    @discardableResult
    static func checked<R: BinaryInteger>(_ call: String, _ at: H5Where, _ body: () -> R) throws -> R {
        silenceAutomaticErrorPrinting()
        let result = body()
        if result < 0 { throw error(call, status: Int64(result), at) }
        return result
    }

    private static func handle(_ call: String, _ at: H5Where, _ kind: H5Handle.Kind,
                               _ body: () -> hid_t) throws -> H5Handle {
        H5Handle(try checked(call, at, body), kind)
    }

    private static func propertyList(_ cls: hid_t, _ at: H5Where) throws -> H5Handle {
        try handle("H5Pcreate", at, .propertyList) { H5Pcreate(cls) }
    }

    // MARK: Files

    /// File-access list: HDF5's file locking off; strong close degree, so closing the file
    /// really closes (and flushes) everything in it. Library version bounds stay at HDF5's
    /// defaults (earliest), readable by HDF5 1.8 and later.
    ///
    /// Why no locking: the workbench writes every file once, under a private temporary name, and
    /// renames it into place sealed; nobody ever opens a committed file for writing. HDF5's
    /// `flock` would only add failures: a child process spawned while a temporary was open
    /// inherits the descriptor and its lock, and keeps the committed file "locked" long after.
    private static func fileAccessList(_ at: H5Where) throws -> H5Handle {
        let fapl = try propertyList(wb_h5p_file_access(), at)
        try checked("H5Pset_file_locking", at) { H5Pset_file_locking(fapl.id, false, true) }
        try checked("H5Pset_fclose_degree", at) { H5Pset_fclose_degree(fapl.id, H5F_CLOSE_STRONG) }
        return fapl
    }

    /// Creates (truncating) the file at `path`, with a user block of `userBlock` bytes (0 or a
    /// power of two ≥ 512) before HDF5's superblock: room for `FileSeal`'s checksum header.
    static func createFile(_ path: String, userBlock: Int = 0) throws -> H5Handle {
        let at = H5Where(file: path, object: nil)
        let fapl = try fileAccessList(at)
        let fcpl = try propertyList(wb_h5p_file_create(), at)
        if userBlock > 0 { try checked("H5Pset_userblock", at) { H5Pset_userblock(fcpl.id, hsize_t(userBlock)) } }
        return try handle("H5Fcreate", at, .file) {
            H5Fcreate(path, wb_h5f_acc_trunc(), fcpl.id, fapl.id)
        }
    }

    /// Opens an existing file read-only or read-write.
    static func openFile(_ path: String, writable: Bool) throws -> H5Handle {
        let at = H5Where(file: path, object: nil)
        let fapl = try fileAccessList(at)
        let flags = writable ? wb_h5f_acc_rdwr() : wb_h5f_acc_rdonly()
        return try handle("H5Fopen", at, .file) { H5Fopen(path, flags, fapl.id) }
    }

    /// Why writing `path` may have failed, when the system says so: the disk holding it is
    /// (nearly) full, or the process may not write files that large (`ulimit -f`).
    static func writeFailureHint(_ path: String) -> String {
        var disk = statvfs()
        let folder = (path as NSString).deletingLastPathComponent
        if statvfs(folder.isEmpty ? "." : folder, &disk) == 0 {
            let free = UInt64(disk.f_bavail) * UInt64(disk.f_frsize)
            if free < 1 << 20 { return " (the disk holding it is full: \(free) bytes free)" }
        }
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max {
            return " (this process may write files of at most \(limit.rlim_cur) bytes: ulimit -f)"
        }
        return ""
    }

    /// Closes a file handle and reports failure (the commit path must know the close succeeded).
    static func closeFile(_ file: H5Handle, _ at: H5Where) throws {
        precondition(file.kind == .file, "closeFile on a non-file handle")
        guard file.isOpen else { return }
        let status = file.close()
        if status < 0 {
            let stacked = H5.error("H5Fclose", status: Int64(status), at)
            throw HDF5Error(call: "H5Fclose", status: Int64(status), file: at.file, object: nil,
                            detail: "closing the file failed" + (stacked.detail.isEmpty ? "" : ": \(stacked.detail)")
                                + writeFailureHint(at.file))
        }
    }

    // MARK: Groups and links

    /// Opens the group at `path` relative to `loc`.
    static func openGroup(_ loc: HID, _ path: String, _ at: H5Where) throws -> H5Handle {
        try handle("H5Gopen2", at, .object) { H5Gopen2(loc, path, wb_h5p_default()) }
    }

    /// Creates the group at `path`, creating missing intermediate groups.
    static func createGroup(_ loc: HID, _ path: String, _ at: H5Where) throws -> H5Handle {
        let lcpl = try intermediateGroupLinkList(at)
        return try handle("H5Gcreate2", at, .object) {
            H5Gcreate2(loc, path, lcpl.id, wb_h5p_default(), wb_h5p_default())
        }
    }

    /// Creates an external link at `path` to `object` in the file `file` (a path relative to the
    /// folder of the file holding the link, where HDF5 looks when the working directory lacks it).
    static func createExternalLink(_ loc: HID, _ path: String, file: String, object: String, _ at: H5Where) throws {
        let lcpl = try intermediateGroupLinkList(at)
        try checked("H5Lcreate_external", at) { H5Lcreate_external(file, object, loc, path, lcpl.id, wb_h5p_default()) }
    }

    /// Whether a link named `path` exists, without following it (an external link whose file is
    /// missing still exists).
    static func linkExists(_ loc: HID, _ path: String, _ at: H5Where) throws -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in parts {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + part
            if try checked("H5Lexists", at, { H5Lexists(loc, prefix, wb_h5p_default()) }) == 0 { return false }
        }
        return true
    }

    private static func intermediateGroupLinkList(_ at: H5Where) throws -> H5Handle {
        let lcpl = try propertyList(wb_h5p_link_create(), at)
        try checked("H5Pset_create_intermediate_group", at) { H5Pset_create_intermediate_group(lcpl.id, 1) }
        try checked("H5Pset_char_encoding", at) { H5Pset_char_encoding(lcpl.id, H5T_CSET_UTF8) }
        return lcpl
    }

    /// Whether every component of the relative `path` exists and the last resolves to an object.
    static func exists(_ loc: HID, _ path: String, _ at: H5Where) throws -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in parts {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + part
            let found = try checked("H5Lexists", at) { H5Lexists(loc, prefix, wb_h5p_default()) }
            if found == 0 { return false }
        }
        if parts.isEmpty { return true }
        return try checked("H5Oexists_by_name", at) { H5Oexists_by_name(loc, path, wb_h5p_default()) } > 0
    }

    /// The type of object at `path` relative to `loc`.
    static func objectType(_ loc: HID, _ path: String, _ at: H5Where) throws -> H5ObjectType {
        var info = H5O_info_t()
        try checked("H5Oget_info_by_name2", at) {
            H5Oget_info_by_name2(loc, path, &info, H5O_INFO_BASIC, wb_h5p_default())
        }
        return objectType(info.type)
    }

    private static func objectType(_ type: H5O_type_t) -> H5ObjectType {
        switch type {
        case H5O_TYPE_GROUP: return .group
        case H5O_TYPE_DATASET: return .dataset
        case H5O_TYPE_NAMED_DATATYPE: return .namedDataType
        default: return .unknown
        }
    }

    /// File number and address of an open object: equal pairs mean the same object.
    static func objectIdentity(_ obj: HID, _ at: H5Where) throws -> (fileNumber: UInt, address: UInt64) {
        var info = H5O_info_t()
        try checked("H5Oget_info2", at) { H5Oget_info2(obj, &info, H5O_INFO_BASIC) }
        return (UInt(info.fileno), UInt64(info.addr))
    }

    /// Names of the links in a group, in name order.
    static func linkNames(_ group: HID, _ at: H5Where) throws -> [String] {
        var info = H5G_info_t()
        try checked("H5Gget_info", at) { H5Gget_info(group, &info) }
        var names: [String] = []
        names.reserveCapacity(Int(info.nlinks))
        for index in 0..<info.nlinks {
            let length = try checked("H5Lget_name_by_idx", at) {
                H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, wb_h5p_default())
            }
            names.append(try readCString(capacity: Int(length) + 1) { buffer, size in
                try checked("H5Lget_name_by_idx", at) {
                    H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, buffer, size, wb_h5p_default())
                }
            })
        }
        return names
    }

    /// What the link `name` in `group` is (hard, soft, external).
    static func linkTarget(_ group: HID, _ name: String, _ at: H5Where) throws -> H5LinkTarget {
        var info = H5L_info_t()
        try checked("H5Lget_info", at) { H5Lget_info(group, name, &info, wb_h5p_default()) }
        switch info.type {
        case H5L_TYPE_HARD:
            return .hard(address: UInt64(info.u.address))
        case H5L_TYPE_SOFT, H5L_TYPE_EXTERNAL:
            let size = Int(info.u.val_size)
            var value = [UInt8](repeating: 0, count: max(size, 1))
            try value.withUnsafeMutableBytes { raw in
                _ = try checked("H5Lget_val", at) { H5Lget_val(group, name, raw.baseAddress, size, wb_h5p_default()) }
            }
            if info.type == H5L_TYPE_SOFT {
                return .soft(target: String(decoding: value.prefix { $0 != 0 }, as: UTF8.self))
            }
            var flags: UInt32 = 0
            var filePointer: UnsafePointer<CChar>?
            var objectPointer: UnsafePointer<CChar>?
            try value.withUnsafeBytes { raw in
                _ = try checked("H5Lunpack_elink_val", at) {
                    H5Lunpack_elink_val(raw.baseAddress, size, &flags, &filePointer, &objectPointer)
                }
                // The unpacked pointers point into `value`: copy them out before it goes away.
                let file = filePointer.map { String(cString: $0) } ?? ""
                let object = objectPointer.map { String(cString: $0) } ?? ""
                filePointer = nil
                objectPointer = nil
                value = Array(file.utf8) + [0] + Array(object.utf8)
            }
            let split = value.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
            return .external(file: String(decoding: split.first ?? [], as: UTF8.self),
                             object: String(decoding: split.count > 1 ? split[1] : [], as: UTF8.self))
        default:
            return .userDefined
        }
    }

    /// Removes the link `path` (the object's space is not reclaimed until the file is repacked).
    static func deleteLink(_ loc: HID, _ path: String, _ at: H5Where) throws {
        try checked("H5Ldelete", at) { H5Ldelete(loc, path, wb_h5p_default()) }
    }

    // MARK: Data types

    /// The native memory type for a numeric element type.
    private static func nativeType(_ type: HDF5DataType) -> hid_t {
        switch type {
        case .float(bits: 32): return wb_h5t_native_float()
        case .float(bits: 64): return wb_h5t_native_double()
        case .integer(bits: 32, signed: true): return wb_h5t_native_int32()
        case .integer(bits: 64, signed: true): return wb_h5t_native_int64()
        case .integer(bits: 8, signed: false): return wb_h5t_native_uint8()
        case .integer(bits: 16, signed: false): return wb_h5t_native_uint16()
        default: preconditionFailure("HDF5 store: no native memory type for \(type)")
        }
    }

    /// A string type: variable-length when `length` is nil, else fixed `length` bytes.
    private static func stringType(length: Int?, utf8: Bool, _ at: H5Where) throws -> H5Handle {
        let type = try handle("H5Tcopy", at, .dataType) { H5Tcopy(wb_h5t_c_s1()) }
        let size = length ?? wb_h5t_variable()
        try checked("H5Tset_size", at) { H5Tset_size(type.id, size) }
        try checked("H5Tset_cset", at) { H5Tset_cset(type.id, utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII) }
        return type
    }

    /// Describes an HDF5 data type held by `type`.
    static func describe(_ type: HID, _ at: H5Where) throws -> HDF5DataType {
        let typeClass = H5Tget_class(type)
        let bytes = H5Tget_size(type)
        switch typeClass {
        case H5T_FLOAT:
            return .float(bits: bytes * 8)
        case H5T_INTEGER:
            return .integer(bits: bytes * 8, signed: H5Tget_sign(type) == H5T_SGN_2)
        case H5T_STRING:
            let variable = try checked("H5Tis_variable_str", at) { H5Tis_variable_str(type) } > 0
            return .string(length: variable ? nil : bytes, utf8: H5Tget_cset(type) == H5T_CSET_UTF8)
        case H5T_NO_CLASS:
            throw error("H5Tget_class", status: -1, at)
        default:
            let names: [H5T_class_t: String] = [
                H5T_TIME: "time", H5T_BITFIELD: "bitfield", H5T_OPAQUE: "opaque", H5T_COMPOUND: "compound",
                H5T_REFERENCE: "reference", H5T_ENUM: "enum", H5T_VLEN: "vlen", H5T_ARRAY: "array",
            ]
            return .other(typeClass: names[typeClass] ?? "class \(typeClass.rawValue)", bytes: bytes)
        }
    }

    // MARK: Dataspaces

    /// A simple dataspace of `shape`; rank 0 is a scalar dataspace.
    private static func dataSpace(_ shape: [Int], _ at: H5Where) throws -> H5Handle {
        if shape.isEmpty { return try handle("H5Screate", at, .dataSpace) { H5Screate(H5S_SCALAR) } }
        let dims = shape.map { hsize_t($0) }
        return try handle("H5Screate_simple", at, .dataSpace) {
            H5Screate_simple(Int32(dims.count), dims, nil)
        }
    }

    /// Shape of a dataspace: `[]` for scalar, nil for a null (empty) dataspace.
    private static func shape(ofSpace space: HID, _ at: H5Where) throws -> [Int]? {
        let spaceClass = H5Sget_simple_extent_type(space)
        if spaceClass == H5S_NULL { return nil }
        if spaceClass == H5S_SCALAR { return [] }
        let rank = try checked("H5Sget_simple_extent_ndims", at) { H5Sget_simple_extent_ndims(space) }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        try checked("H5Sget_simple_extent_dims", at) { H5Sget_simple_extent_dims(space, &dims, nil) }
        return dims.map { Int($0) }
    }

    // MARK: Datasets

    /// Opens the dataset at `path` relative to `loc`.
    static func openDataset(_ loc: HID, _ path: String, _ at: H5Where) throws -> H5Handle {
        try handle("H5Dopen2", at, .object) { H5Dopen2(loc, path, wb_h5p_default()) }
    }

    /// Chunk extents for a compressed dataset: the whole shape, halving dimensions from the
    /// outermost until one chunk is at most `HDF5Compression.chunkBytes`.
    static func chunkShape(_ shape: [Int], elementBytes: Int) -> [Int] {
        var chunk = shape.map { max($0, 1) }
        for axis in chunk.indices {
            while chunk.reduce(elementBytes, *) > HDF5Compression.chunkBytes && chunk[axis] > 1 {
                chunk[axis] = (chunk[axis] + 1) / 2
            }
        }
        return chunk
    }

    /// Creates a numeric dataset of `shape` at `path` (intermediate groups created) and writes
    /// `count` elements from `buffer` (row-major, native layout).
    static func writeNumericDataset(_ loc: HID, _ path: String, type: HDF5DataType, shape: [Int],
                                    compression: HDF5Compression, buffer: UnsafeRawPointer?,
                                    _ at: H5Where) throws {
        let memType = nativeType(type)
        let space = try dataSpace(shape, at)
        let dcpl = try propertyList(wb_h5p_dataset_create(), at)
        let count = shape.reduce(1, *)
        if case .shuffleGzip(let level) = compression, !shape.isEmpty, count > 0 {
            precondition((0...9).contains(level), "HDF5 store: gzip level \(level) outside 0...9")
            let available = try checked("H5Zfilter_avail", at) { H5Zfilter_avail(wb_h5z_filter_deflate()) }
            if available == 0 {
                throw HDF5Error(call: "H5Zfilter_avail", status: 0, file: at.file, object: at.object,
                                detail: "the deflate filter is not available in this HDF5 library")
            }
            let chunk = chunkShape(shape, elementBytes: H5Tget_size(memType)).map { hsize_t($0) }
            try checked("H5Pset_chunk", at) { H5Pset_chunk(dcpl.id, Int32(chunk.count), chunk) }
            try checked("H5Pset_shuffle", at) { H5Pset_shuffle(dcpl.id) }
            try checked("H5Pset_deflate", at) { H5Pset_deflate(dcpl.id, UInt32(level)) }
        }
        let lcpl = try intermediateGroupLinkList(at)
        let dataset = try handle("H5Dcreate2", at, .object) {
            H5Dcreate2(loc, path, memType, space.id, lcpl.id, dcpl.id, wb_h5p_default())
        }
        if count > 0 {
            try checked("H5Dwrite", at) {
                H5Dwrite(dataset.id, memType, wb_h5s_all(), wb_h5s_all(), wb_h5p_default(), buffer)
            }
        }
    }

    /// Shape (nil for a null dataspace) and stored type of an open dataset.
    static func datasetShapeAndType(_ dataset: HID, _ at: H5Where) throws -> (shape: [Int]?, type: HDF5DataType) {
        let space = try handle("H5Dget_space", at, .dataSpace) { H5Dget_space(dataset) }
        let type = try handle("H5Dget_type", at, .dataType) { H5Dget_type(dataset) }
        return (try shape(ofSpace: space.id, at), try describe(type.id, at))
    }

    /// Reads the whole dataset, converted to the numeric `type`, into `buffer`.
    static func readNumericDataset(_ dataset: HID, as type: HDF5DataType, into buffer: UnsafeMutableRawPointer?,
                                   _ at: H5Where) throws {
        let memType = nativeType(type)
        try checked("H5Dread", at) {
            H5Dread(dataset, memType, wb_h5s_all(), wb_h5s_all(), wb_h5p_default(), buffer)
        }
    }

    /// Storage layout and filter pipeline of an open dataset.
    static func datasetStorage(_ dataset: HID, _ at: H5Where) throws -> (layout: HDF5Layout, filters: [HDF5Filter]) {
        let dcpl = try handle("H5Dget_create_plist", at, .propertyList) { H5Dget_create_plist(dataset) }
        let layout: HDF5Layout
        switch H5Pget_layout(dcpl.id) {
        case H5D_COMPACT: layout = .compact
        case H5D_CHUNKED:
            var dims = [hsize_t](repeating: 0, count: 32)
            let rank = try checked("H5Pget_chunk", at) { H5Pget_chunk(dcpl.id, 32, &dims) }
            layout = .chunked(dims.prefix(Int(rank)).map { Int($0) })
        case H5D_VIRTUAL: layout = .virtual
        default: layout = .contiguous
        }
        let filterCount = try checked("H5Pget_nfilters", at) { H5Pget_nfilters(dcpl.id) }
        var filters: [HDF5Filter] = []
        for index in 0..<UInt32(filterCount) {
            var flags: UInt32 = 0
            var valueCount = 16
            var values = [UInt32](repeating: 0, count: valueCount)
            var name = [CChar](repeating: 0, count: 128)
            var config: UInt32 = 0
            let id = try checked("H5Pget_filter2", at) {
                H5Pget_filter2(dcpl.id, index, &flags, &valueCount, &values, 128, &name, &config)
            }
            let nameBytes = name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            let filterName = nameBytes.isEmpty ? "filter \(id)" : String(decoding: nameBytes, as: UTF8.self)
            filters.append(HDF5Filter(id: Int(id), name: filterName, parameters: Array(values.prefix(min(valueCount, 16)))))
        }
        return (layout, filters)
    }

    // MARK: Values (attributes and scalar / string datasets)

    /// Creates a dataset at `path` holding `value` (scalar or 1-D), intermediate groups created.
    static func writeValueDataset(_ loc: HID, _ path: String, _ value: HDF5Value, _ at: H5Where) throws {
        let lcpl = try intermediateGroupLinkList(at)
        try writeValue(value, at) { type, space in
            try handle("H5Dcreate2", at, .object) {
                H5Dcreate2(loc, path, type, space, lcpl.id, wb_h5p_default(), wb_h5p_default())
            }
        } write: { object, memType, buffer in
            H5Dwrite(object, memType, wb_h5s_all(), wb_h5s_all(), wb_h5p_default(), buffer)
        }
    }

    /// Reads a whole dataset as a value (any integer, float or string type; others `.unsupported`).
    static func readValueDataset(_ dataset: HID, _ at: H5Where) throws -> HDF5Value {
        let space = try handle("H5Dget_space", at, .dataSpace) { H5Dget_space(dataset) }
        let type = try handle("H5Dget_type", at, .dataType) { H5Dget_type(dataset) }
        return try readValue(type: type.id, space: space.id, at) { memType, buffer in
            H5Dread(dataset, memType, wb_h5s_all(), wb_h5s_all(), wb_h5p_default(), buffer)
        }
    }

    /// Names of the attributes of an object, in name order.
    static func attributeNames(_ object: HID, _ at: H5Where) throws -> [String] {
        var info = H5O_info_t()
        try checked("H5Oget_info2", at) { H5Oget_info2(object, &info, H5O_INFO_NUM_ATTRS) }
        var names: [String] = []
        for index in 0..<hsize_t(info.num_attrs) {
            let length = try checked("H5Aget_name_by_idx", at) {
                H5Aget_name_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, wb_h5p_default())
            }
            names.append(try readCString(capacity: Int(length) + 1) { buffer, size in
                try checked("H5Aget_name_by_idx", at) {
                    H5Aget_name_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, index, buffer, size, wb_h5p_default())
                }
            })
        }
        return names
    }

    static func attributeExists(_ object: HID, _ name: String, _ at: H5Where) throws -> Bool {
        try checked("H5Aexists", at) { H5Aexists(object, name) } > 0
    }

    /// Writes (replacing any existing attribute of that name) `value` as attribute `name`.
    static func writeAttribute(_ object: HID, _ name: String, _ value: HDF5Value, _ at: H5Where) throws {
        if try attributeExists(object, name, at) {
            try checked("H5Adelete", at) { H5Adelete(object, name) }
        }
        try writeValue(value, at) { type, space in
            let acpl = try propertyList(wb_h5p_attribute_create(), at)
            try checked("H5Pset_char_encoding", at) { H5Pset_char_encoding(acpl.id, H5T_CSET_UTF8) }
            return try handle("H5Acreate2", at, .attribute) {
                H5Acreate2(object, name, type, space, acpl.id, wb_h5p_default())
            }
        } write: { attribute, memType, buffer in
            H5Awrite(attribute, memType, buffer)
        }
    }

    static func deleteAttribute(_ object: HID, _ name: String, _ at: H5Where) throws {
        try checked("H5Adelete", at) { H5Adelete(object, name) }
    }

    /// Reads attribute `name` of an object.
    static func readAttribute(_ object: HID, _ name: String, _ at: H5Where) throws -> HDF5Value {
        let attribute = try handle("H5Aopen", at, .attribute) { H5Aopen(object, name, wb_h5p_default()) }
        let space = try handle("H5Aget_space", at, .dataSpace) { H5Aget_space(attribute.id) }
        let type = try handle("H5Aget_type", at, .dataType) { H5Aget_type(attribute.id) }
        return try readValue(type: type.id, space: space.id, at) { memType, buffer in
            H5Aread(attribute.id, memType, buffer)
        }
    }

    /// Shared writer for attributes and value datasets: picks the file type and dataspace,
    /// creates the object through `create`, and writes through `write`.
    private static func writeValue(_ value: HDF5Value, _ at: H5Where,
                                   create: (_ type: hid_t, _ space: hid_t) throws -> H5Handle,
                                   write: (_ object: hid_t, _ memType: hid_t, _ buffer: UnsafeRawPointer?) -> herr_t) throws {
        func numeric<T>(_ values: [T], scalar: Bool, _ memType: hid_t) throws {
            let space = try dataSpace(scalar ? [] : [values.count], at)
            let object = try create(memType, space.id)
            if values.isEmpty { return }
            try values.withUnsafeBytes { raw in
                _ = try checked(object.kind == .attribute ? "H5Awrite" : "H5Dwrite", at) {
                    write(object.id, memType, raw.baseAddress)
                }
            }
        }
        func strings(_ values: [String], scalar: Bool) throws {
            let type = try stringType(length: nil, utf8: true, at)
            let space = try dataSpace(scalar ? [] : [values.count], at)
            let object = try create(type.id, space.id)
            if values.isEmpty { return }
            let pointers = values.map { strdup($0) }
            defer { pointers.forEach { free($0) } }
            try pointers.withUnsafeBytes { raw in
                _ = try checked(object.kind == .attribute ? "H5Awrite" : "H5Dwrite", at) {
                    write(object.id, type.id, raw.baseAddress)
                }
            }
        }
        switch value {
        case .integer(let v): try numeric([v], scalar: true, wb_h5t_native_int64())
        case .double(let v): try numeric([v], scalar: true, wb_h5t_native_double())
        case .string(let v): try strings([v], scalar: true)
        case .integers(let v): try numeric(v, scalar: false, wb_h5t_native_int64())
        case .doubles(let v): try numeric(v, scalar: false, wb_h5t_native_double())
        case .strings(let v): try strings(v, scalar: false)
        case .unsupported(let type): preconditionFailure("HDF5 store: cannot write an unsupported value (\(type))")
        }
    }

    /// Shared reader for attributes and datasets: integers as Int64, floats as Double, strings
    /// (variable or fixed length) as String; a scalar dataspace gives a scalar case.
    private static func readValue(type fileType: hid_t, space: hid_t, _ at: H5Where,
                                  read: (_ memType: hid_t, _ buffer: UnsafeMutableRawPointer?) -> herr_t) throws -> HDF5Value {
        let described = try describe(fileType, at)
        guard let shape = try shape(ofSpace: space, at) else { return .unsupported("\(described), null dataspace") }
        let scalar = shape.isEmpty
        let count = shape.reduce(1, *)
        let readCall = "H5Aread/H5Dread"
        switch described {
        case .integer:
            var values = [Int64](repeating: 0, count: count)
            if count > 0 {
                try values.withUnsafeMutableBytes { raw in
                    _ = try checked(readCall, at) { read(wb_h5t_native_int64(), raw.baseAddress) }
                }
            }
            return scalar ? .integer(values[0]) : .integers(values)
        case .float:
            var values = [Double](repeating: 0, count: count)
            if count > 0 {
                try values.withUnsafeMutableBytes { raw in
                    _ = try checked(readCall, at) { read(wb_h5t_native_double(), raw.baseAddress) }
                }
            }
            return scalar ? .double(values[0]) : .doubles(values)
        case .string(let length, let utf8):
            // Variable-length strings are read as C strings; fixed-length ones in the file's own
            // layout (its padding: NUL-terminated, NUL-padded or space-padded), trimmed below.
            let memType = length == nil
                ? try stringType(length: nil, utf8: utf8, at)
                : try handle("H5Tcopy", at, .dataType) { H5Tcopy(fileType) }
            var values: [String] = []
            if count == 0 {
                values = []
            } else if let length {
                var bytes = [UInt8](repeating: 0, count: count * length)
                try bytes.withUnsafeMutableBytes { raw in
                    _ = try checked(readCall, at) { read(memType.id, raw.baseAddress) }
                }
                let spacePadded = H5Tget_strpad(fileType) == H5T_STR_SPACEPAD
                for index in 0..<count {
                    var slice = bytes[(index * length)..<((index + 1) * length)].prefix { $0 != 0 }
                    if spacePadded { while slice.last == UInt8(ascii: " ") { slice = slice.dropLast() } }
                    values.append(String(decoding: slice, as: UTF8.self))
                }
            } else {
                var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
                try pointers.withUnsafeMutableBytes { raw in
                    _ = try checked(readCall, at) { read(memType.id, raw.baseAddress) }
                }
                values = pointers.map { $0.map { String(cString: $0) } ?? "" }
                try pointers.withUnsafeMutableBytes { raw in
                    _ = try checked("H5Dvlen_reclaim", at) {
                        H5Dvlen_reclaim(memType.id, space, wb_h5p_default(), raw.baseAddress)
                    }
                }
            }
            return scalar ? .string(values.first ?? "") : .strings(values)
        case .other:
            return .unsupported(scalar ? described.description : "\(described) \(shape)")
        }
    }

    // MARK: Helpers

    /// Calls `fill(buffer, capacity)` on a zeroed buffer and decodes it as a UTF-8 C string.
    private static func readCString(capacity: Int,
                                    _ fill: (UnsafeMutablePointer<CChar>, Int) throws -> Int) throws -> String {
        var buffer = [CChar](repeating: 0, count: capacity)
        _ = try buffer.withUnsafeMutableBufferPointer { try fill($0.baseAddress!, capacity) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
