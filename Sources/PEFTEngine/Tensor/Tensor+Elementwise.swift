/// Elementwise arithmetic on tensors of identical shape (no broadcasting).
///
/// Every kernel enters each buffer once and runs one plain loop over the row-major storage.
/// A shape mismatch is a programmer mistake and traps with both shapes in the message.
extension Tensor {
    // MARK: Binary, out of place

    /// self + other, elementwise.
    public func adding(_ other: Tensor) -> Tensor {
        zipMap(other, "adding") { $0 + $1 }
    }

    /// self − other, elementwise.
    public func subtracting(_ other: Tensor) -> Tensor {
        zipMap(other, "subtracting") { $0 - $1 }
    }

    /// self ⊙ other, the elementwise (Hadamard) product.
    public func multiplying(_ other: Tensor) -> Tensor {
        zipMap(other, "multiplying") { $0 * $1 }
    }

    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.adding(rhs) }
    public static func - (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.subtracting(rhs) }

    // MARK: Unary, out of place

    /// s · self.
    public func scaled(by s: Float) -> Tensor {
        map { $0 * s }
    }

    /// self + s, added to every element.
    public func adding(scalar s: Float) -> Tensor {
        map { $0 + s }
    }

    /// f applied to every element; the shape is kept.
    public func map(_ f: (Float) -> Float) -> Tensor {
        let n = count
        let out = [Float](unsafeUninitializedCapacity: n) { outBuf, initialized in
            storage.withUnsafeBufferPointer { x in
                for i in 0..<n { outBuf[i] = f(x[i]) }
            }
            initialized = n
        }
        return Tensor(shape: shape, storage: out)
    }

    // MARK: In place

    /// self ← self + alpha · x (BLAS `axpy`), the accumulate step of gradients and updates.
    public mutating func addScaled(_ x: Tensor, alpha: Float = 1) {
        precondition(shape == x.shape, "addScaled: shape \(shape) vs \(x.shape)")
        let n = count
        x.storage.withUnsafeBufferPointer { X in
            storage.withUnsafeMutableBufferPointer { Y in
                for i in 0..<n { Y[i] += alpha * X[i] }
            }
        }
    }

    /// self ← s · self.
    public mutating func scale(by s: Float) {
        apply { $0 * s }
    }

    /// self ← f(self), elementwise.
    public mutating func apply(_ f: (Float) -> Float) {
        let n = count
        storage.withUnsafeMutableBufferPointer { Y in
            for i in 0..<n { Y[i] = f(Y[i]) }
        }
    }

    // MARK: Kernel

    /// out[i] = f(self[i], other[i]) after checking the shapes agree.
    @inline(__always)
    private func zipMap(_ other: Tensor, _ name: String, _ f: (Float, Float) -> Float) -> Tensor {
        precondition(shape == other.shape, "\(name): shape \(shape) vs \(other.shape)")
        let n = count
        let out = [Float](unsafeUninitializedCapacity: n) { outBuf, initialized in
            storage.withUnsafeBufferPointer { x in
                other.storage.withUnsafeBufferPointer { y in
                    for i in 0..<n { outBuf[i] = f(x[i], y[i]) }
                }
            }
            initialized = n
        }
        return Tensor(shape: shape, storage: out)
    }
}
