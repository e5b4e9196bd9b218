import PEFTEngine

/// Values of a dataset read as `[T]` with the dataset's shape (row-major).
public struct HDF5Array<T: HDF5Element>: Sendable {
    public var shape: [Int]
    public var values: [T]
}

extension HDF5Array: Equatable where T: Equatable {}

/// A dataset: shape, stored type, storage layout and filters, and typed reads.
public final class HDF5Dataset: HDF5Object {
    /// Extents, outermost first; `[]` for a scalar, nil for a null (empty) dataspace.
    public let shape: [Int]?
    /// The element type as stored in the file.
    public let dataType: HDF5DataType

    init(file: HDF5File, path: String, datasetHandle handle: H5Handle) throws {
        let at = H5Where(file: file.url.path, object: path)
        (shape, dataType) = try H5.datasetShapeAndType(handle.id, at)
        super.init(file: file, path: path, handle: handle)
    }

    /// Storage layout (contiguous, chunked, …) and filter pipeline (shuffle, deflate, …).
    public func storage() throws -> (layout: HDF5Layout, filters: [HDF5Filter]) {
        checkOpen()
        return try H5.datasetStorage(handle.id, location)
    }

    private func mismatch(_ call: String, _ reason: String) -> HDF5Error {
        HDF5Error(call: call, status: nil, file: file.url.path, object: path, detail: reason)
    }

    /// Reads a floating-point dataset as a Float32 tensor (float64 data is rounded to float32).
    public func readTensor() throws -> Tensor {
        checkOpen()
        guard case .float = dataType else {
            throw mismatch("readTensor", "expected a floating-point dataset, found \(dataType)")
        }
        guard let shape else { throw mismatch("readTensor", "dataset has a null dataspace") }
        var storage = [Float](repeating: 0, count: shape.reduce(1, *))
        if !storage.isEmpty {
            try storage.withUnsafeMutableBytes { raw in
                try H5.readNumericDataset(handle.id, as: .float(bits: 32), into: raw.baseAddress, location)
            }
        }
        return Tensor(shape: shape, storage: storage)
    }

    /// Reads the dataset as `[T]`; the stored type must be exactly `T`'s (no silent narrowing).
    public func readArray<T: HDF5Element>(as type: T.Type = T.self) throws -> HDF5Array<T> {
        checkOpen()
        guard dataType == T.hdf5DataType else {
            throw mismatch("readArray", "expected \(T.hdf5DataType), found \(dataType)")
        }
        guard let shape else { throw mismatch("readArray", "dataset has a null dataspace") }
        let count = shape.reduce(1, *)
        let values = try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 {
                try H5.readNumericDataset(handle.id, as: T.hdf5DataType, into: UnsafeMutableRawPointer(buffer.baseAddress!), location)
            }
            initialized = count
        }
        return HDF5Array(shape: shape, values: values)
    }

    /// Reads the dataset as a value: integers → Int64, floats → Double, strings → String.
    public func readValue() throws -> HDF5Value {
        checkOpen()
        return try H5.readValueDataset(handle.id, location)
    }
}
