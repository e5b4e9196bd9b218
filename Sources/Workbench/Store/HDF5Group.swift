import PEFTEngine

/// What an object in a group is.
public enum HDF5ObjectKind: Equatable, Sendable {
    case group
    case dataset
    /// A named data type or another object class the store does not handle.
    case other
}

/// A group: named children (groups and datasets) and attributes.
///
/// Paths are relative to the group ("runs/lora/seed0/after_task1") or absolute ("/runs");
/// creating a group or dataset creates the missing intermediate groups. Writing a dataset
/// where one exists replaces it (the old one's space is not reclaimed until the file is
/// repacked, e.g. with `h5repack`).
public final class HDF5Group: HDF5Object {
    /// Opens the existing group at `path`.
    public func group(_ path: String) throws -> HDF5Group {
        checkOpen()
        let full = childPath(path)
        let handle = try H5.openGroup(self.handle.id, path, H5Where(file: file.url.path, object: full))
        return HDF5Group(file: file, path: full, handle: handle)
    }

    /// Opens the group at `path`, creating it and any missing intermediate groups.
    public func createGroup(_ path: String) throws -> HDF5Group {
        checkOpen()
        let full = childPath(path)
        let at = H5Where(file: file.url.path, object: full)
        if try H5.exists(handle.id, path, at) { return try group(path) }
        let handle = try H5.createGroup(self.handle.id, path, at)
        return HDF5Group(file: file, path: full, handle: handle)
    }

    /// Names of the direct children (links) of this group, sorted.
    /// Links `path` (intermediate groups created) to `object` in another HDF5 file, named
    /// relative to this file's folder. Readers follow it as if the object were here.
    public func createExternalLink(at path: String, file: String, object: String = "/") throws {
        try H5.createExternalLink(handle.id, path, file: file, object: object, H5Where(file: self.file.url.path, object: childPath(path)))
    }

    /// Whether a link `path` exists, without opening what it points to.
    public func hasLink(_ path: String) throws -> Bool {
        try H5.linkExists(handle.id, path, H5Where(file: file.url.path, object: childPath(path)))
    }

    public func children() throws -> [String] {
        checkOpen()
        return try H5.linkNames(handle.id, location)
    }

    /// Whether an object exists at `path` (every intermediate group included).
    public func contains(_ path: String) throws -> Bool {
        checkOpen()
        return try H5.exists(handle.id, path, H5Where(file: file.url.path, object: childPath(path)))
    }

    /// The kind of the object at `path`; throws if there is none.
    public func kind(of path: String) throws -> HDF5ObjectKind {
        checkOpen()
        switch try H5.objectType(handle.id, path, H5Where(file: file.url.path, object: childPath(path))) {
        case .group: return .group
        case .dataset: return .dataset
        case .namedDataType, .unknown: return .other
        }
    }

    /// Opens the existing dataset at `path`.
    public func dataset(_ path: String) throws -> HDF5Dataset {
        checkOpen()
        let full = childPath(path)
        let at = H5Where(file: file.url.path, object: full)
        let handle = try H5.openDataset(self.handle.id, path, at)
        return try HDF5Dataset(file: file, path: full, datasetHandle: handle)
    }

    /// Removes the link at `path`.
    public func remove(_ path: String) throws {
        checkOpen()
        try H5.deleteLink(handle.id, path, H5Where(file: file.url.path, object: childPath(path)))
    }

    // MARK: Writing

    private func replacing(_ path: String) throws -> H5Where {
        checkOpen()
        let at = H5Where(file: file.url.path, object: childPath(path))
        if try H5.exists(handle.id, path, at) { try H5.deleteLink(handle.id, path, at) }
        return at
    }

    /// Writes `tensor` as a Float32 dataset of the tensor's shape (rank 0 → scalar dataspace),
    /// bit-exactly (NaN payloads, infinities and −0 included).
    public func write(_ tensor: Tensor, to path: String, compression: HDF5Compression = .none) throws {
        try write(tensor.storage, shape: tensor.shape, to: path, compression: compression)
    }

    /// Writes `values` (row-major) as a dataset of `shape` and element type `T`.
    public func write<T: HDF5Element>(_ values: [T], shape: [Int], to path: String,
                                      compression: HDF5Compression = .none) throws {
        precondition(shape.allSatisfy { $0 >= 0 }, "HDF5 store: negative extent in shape \(shape) for \(path)")
        precondition(values.count == shape.reduce(1, *),
                     "HDF5 store: shape \(shape) needs \(shape.reduce(1, *)) values for \(path), got \(values.count)")
        let at = try replacing(path)
        try values.withUnsafeBytes { raw in
            try H5.writeNumericDataset(handle.id, path, type: T.hdf5DataType, shape: shape,
                                       compression: compression, buffer: raw.baseAddress, at)
        }
    }

    /// Writes `values` as a 1-D dataset.
    public func write<T: HDF5Element>(_ values: [T], to path: String, compression: HDF5Compression = .none) throws {
        try write(values, shape: [values.count], to: path, compression: compression)
    }

    /// Writes a scalar (or 1-D) value dataset: Int64, Double or variable-length UTF-8 String.
    public func writeValue(_ value: HDF5Value, to path: String) throws {
        let at = try replacing(path)
        try H5.writeValueDataset(handle.id, path, value, at)
    }

    // MARK: Reading

    /// Reads the Float32 (or other float) dataset at `path` as a tensor.
    public func readTensor(_ path: String) throws -> Tensor {
        try dataset(path).readTensor()
    }

    /// Reads the dataset at `path`, whose stored type must be exactly `T`'s.
    public func readArray<T: HDF5Element>(_ path: String, as type: T.Type = T.self) throws -> HDF5Array<T> {
        try dataset(path).readArray(as: type)
    }

    /// Reads the dataset at `path` as a value (scalar or array of integers, doubles, strings).
    public func readValue(_ path: String) throws -> HDF5Value {
        try dataset(path).readValue()
    }
}
