/// A dense Float32 tensor: an explicit shape and row-major storage (last index fastest).
///
/// Value semantics (copy-on-write through `Array`). Hot training loops do not use `Tensor`;
/// they work on the parameter arena's raw views. `Tensor` is the currency between modules:
/// analysis inputs, store reads and writes, test fixtures.
public struct Tensor: Equatable, Sendable {
    /// Extent of each dimension, outermost first. `[]` is a scalar.
    public private(set) var shape: [Int]
    /// Elements in row-major order; `storage.count == shape.reduce(1, *)`.
    public var storage: [Float]

    public init(shape: [Int], storage: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative extent in shape \(shape)")
        precondition(
            storage.count == shape.reduce(1, *),
            "Tensor: shape \(shape) needs \(shape.reduce(1, *)) elements, got \(storage.count)")
        self.shape = shape
        self.storage = storage
    }

    public init(shape: [Int], repeating value: Float = 0) {
        self.init(shape: shape, storage: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape) }

    public var rank: Int { shape.count }
    public var count: Int { storage.count }

    /// Rows and columns of a rank-2 tensor.
    public var rows: Int { precondition(rank == 2, "rows of rank-\(rank) tensor"); return shape[0] }
    public var columns: Int { precondition(rank == 2, "columns of rank-\(rank) tensor"); return shape[1] }

    /// Element (i, j) of a rank-2 tensor.
    public subscript(i: Int, j: Int) -> Float {
        get { storage[i * shape[1] + j] }
        set { storage[i * shape[1] + j] = newValue }
    }

    /// The same elements under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, storage: storage)
    }
}
