/// Rank-2 layout operations: transpose, identity and diagonal matrices, row and column ranges.
///
/// All results are fresh row-major tensors (copies); the ranges are what SVD truncation uses,
/// e.g. U[:, 0..<r] is `u.columns(in: 0..<r)` and Vᵀ[0..<r, :] is `vt.rows(in: 0..<r)`.
extension Tensor {
    /// Xᵀ of a rank-2 [R, C] tensor: shape [C, R], out[j, i] = x[i, j].
    public func transposed() -> Tensor {
        precondition(rank == 2, "transposed: needs a rank-2 tensor, got shape \(shape)")
        let r = shape[0], c = shape[1]
        let out = [Float](unsafeUninitializedCapacity: r * c) { t, initialized in
            storage.withUnsafeBufferPointer { x in
                for i in 0..<r {
                    let row = i * c
                    for j in 0..<c { t[j * r + i] = x[row + j] }
                }
            }
            initialized = r * c
        }
        return Tensor(shape: [c, r], storage: out)
    }

    /// Iₙ: the [n, n] tensor with ones on the diagonal and zeros elsewhere.
    public static func identity(_ n: Int) -> Tensor {
        precondition(n >= 0, "identity: negative size \(n)")
        return Tensor(diagonal: [Float](repeating: 1, count: n))
    }

    /// The square [n, n] matrix diag(d) with n = d.count.
    public init(diagonal d: [Float]) {
        self.init(diagonal: d, rows: d.count, columns: d.count)
    }

    /// The [rows, columns] matrix with d on its main diagonal and zeros elsewhere;
    /// d.count must equal min(rows, columns) (the shape of Σ in a full SVD).
    public init(diagonal d: [Float], rows: Int, columns: Int) {
        precondition(rows >= 0 && columns >= 0, "Tensor(diagonal:): shape [\(rows), \(columns)]")
        precondition(
            d.count == Swift.min(rows, columns),
            "Tensor(diagonal:): \(d.count) values for shape [\(rows), \(columns)]")
        var m = Tensor(shape: [rows, columns])
        m.storage.withUnsafeMutableBufferPointer { out in
            d.withUnsafeBufferPointer { v in
                for i in 0..<v.count { out[i * columns + i] = v[i] }
            }
        }
        self = m
    }

    /// The main diagonal of a rank-2 [R, C] tensor: shape [min(R, C)], out[i] = x[i, i].
    public func diagonal() -> Tensor {
        precondition(rank == 2, "diagonal: needs a rank-2 tensor, got shape \(shape)")
        let c = shape[1], n = Swift.min(shape[0], shape[1])
        let out = [Float](unsafeUninitializedCapacity: n) { d, initialized in
            storage.withUnsafeBufferPointer { x in
                for i in 0..<n { d[i] = x[i * c + i] }
            }
            initialized = n
        }
        return Tensor(shape: [n], storage: out)
    }

    /// Rows `range` of a rank-2 [R, C] tensor: shape [range.count, C].
    public func rows(in range: Range<Int>) -> Tensor {
        precondition(rank == 2, "rows(in:): needs a rank-2 tensor, got shape \(shape)")
        precondition(
            range.lowerBound >= 0 && range.upperBound <= shape[0],
            "rows(in:): range \(range) outside shape \(shape)")
        let c = shape[1]
        return Tensor(
            shape: [range.count, c],
            storage: Array(storage[(range.lowerBound * c)..<(range.upperBound * c)]))
    }

    /// Columns `range` of a rank-2 [R, C] tensor: shape [R, range.count].
    public func columns(in range: Range<Int>) -> Tensor {
        precondition(rank == 2, "columns(in:): needs a rank-2 tensor, got shape \(shape)")
        precondition(
            range.lowerBound >= 0 && range.upperBound <= shape[1],
            "columns(in:): range \(range) outside shape \(shape)")
        let r = shape[0], c = shape[1], w = range.count, j0 = range.lowerBound
        let out = [Float](unsafeUninitializedCapacity: r * w) { s, initialized in
            storage.withUnsafeBufferPointer { x in
                for i in 0..<r {
                    for j in 0..<w { s[i * w + j] = x[i * c + j0 + j] }
                }
            }
            initialized = r * w
        }
        return Tensor(shape: [r, w], storage: out)
    }
}
