/// Reductions of a tensor to a scalar or, for rank 2, to one value per row or column.
///
/// Sums, means, dot products and the Frobenius norm accumulate in Double and round once at
/// the end, so their error does not grow with the element count the way a Float running sum's
/// does (≈ n·ε worst case). `max`/`min` propagate NaN: any NaN element makes the result NaN.
extension Tensor {
    /// Σᵢ xᵢ over all elements (0 for an empty tensor), accumulated in Double.
    public func sum() -> Float {
        let n = count
        return storage.withUnsafeBufferPointer { x in
            var acc = 0.0
            for i in 0..<n { acc += Double(x[i]) }
            return Float(acc)
        }
    }

    /// (1/n) Σᵢ xᵢ, accumulated in Double; traps on an empty tensor.
    public func mean() -> Float {
        precondition(count > 0, "mean: empty tensor of shape \(shape)")
        let n = count
        return storage.withUnsafeBufferPointer { x in
            var acc = 0.0
            for i in 0..<n { acc += Double(x[i]) }
            return Float(acc / Double(n))
        }
    }

    /// The largest element (NaN if any element is NaN); traps on an empty tensor.
    public func max() -> Float {
        precondition(count > 0, "max: empty tensor of shape \(shape)")
        let n = count
        return storage.withUnsafeBufferPointer { x in
            var best = x[0]
            for i in 0..<n {
                let v = x[i]
                if v.isNaN { return v }
                if v > best { best = v }
            }
            return best
        }
    }

    /// The smallest element (NaN if any element is NaN); traps on an empty tensor.
    public func min() -> Float {
        precondition(count > 0, "min: empty tensor of shape \(shape)")
        let n = count
        return storage.withUnsafeBufferPointer { x in
            var best = x[0]
            for i in 0..<n {
                let v = x[i]
                if v.isNaN { return v }
                if v < best { best = v }
            }
            return best
        }
    }

    /// Sum of a rank-2 [R, C] tensor along one axis, accumulated in Double.
    ///
    /// - axis 0 sums over rows and gives the column sums, shape [C]: out[j] = Σᵢ x[i, j];
    /// - axis 1 sums over columns and gives the row sums, shape [R]: out[i] = Σⱼ x[i, j].
    public func sum(alongAxis axis: Int) -> Tensor {
        precondition(rank == 2, "sum(alongAxis:): needs a rank-2 tensor, got shape \(shape)")
        precondition(axis == 0 || axis == 1, "sum(alongAxis:): axis \(axis) of shape \(shape)")
        let r = shape[0], c = shape[1]
        let outCount = axis == 0 ? c : r
        var acc = [Double](repeating: 0, count: outCount)
        storage.withUnsafeBufferPointer { x in
            acc.withUnsafeMutableBufferPointer { s in
                if axis == 0 {
                    for i in 0..<r {
                        let row = i * c
                        for j in 0..<c { s[j] += Double(x[row + j]) }
                    }
                } else {
                    for i in 0..<r {
                        let row = i * c
                        var rowSum = 0.0
                        for j in 0..<c { rowSum += Double(x[row + j]) }
                        s[i] = rowSum
                    }
                }
            }
        }
        return Tensor(shape: [outCount], storage: acc.map { Float($0) })
    }

    /// ‖X‖_F = sqrt(Σᵢ xᵢ²), squares accumulated in Double (any shape; 0 when empty).
    public func frobeniusNorm() -> Float {
        let n = count
        return storage.withUnsafeBufferPointer { x in
            var acc = 0.0
            for i in 0..<n {
                let v = Double(x[i])
                acc += v * v
            }
            return Float(acc.squareRoot())
        }
    }

    /// ⟨self, other⟩ = Σᵢ xᵢ yᵢ over tensors of the same shape, accumulated in Double.
    public func dot(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "dot: shape \(shape) vs \(other.shape)")
        let n = count
        return storage.withUnsafeBufferPointer { x in
            other.storage.withUnsafeBufferPointer { y in
                var acc = 0.0
                for i in 0..<n { acc += Double(x[i]) * Double(y[i]) }
                return Float(acc)
            }
        }
    }
}
