/// Why a singular value decomposition failed. Every case names the call and the matrix shape.
///
/// Programmer mistakes (a tensor that is not rank 2) are preconditions, not errors.
public enum SVDError: Error, Equatable, CustomStringConvertible {
    /// The input holds a NaN or ±∞ at (row, column); LAPACK's result would be meaningless.
    case nonFiniteInput(row: Int, column: Int, value: Float, rows: Int, columns: Int)
    /// LAPACK rejected argument number `position` (INFO = −position): a bug in the wrapper.
    case illegalArgument(call: String, position: Int, rows: Int, columns: Int)
    /// LAPACK's divide and conquer did not converge (INFO > 0; see LAPACK's sgesdd docs).
    case didNotConverge(call: String, info: Int, rows: Int, columns: Int)
    /// The entries are finite but the largest singular value is not representable in Float32
    /// (above 3.4e38): the matrix is out of range for a float32 spectrum.
    case outOfRange(rows: Int, columns: Int, largestEntry: Float)

    public var description: String {
        switch self {
        case let .nonFiniteInput(row, column, value, rows, columns):
            return "SVD of \(rows)×\(columns) matrix: non-finite value \(value) at (\(row), \(column)) "
                + "(flat index \(row * columns + column)); the first bad element is reported"
        case let .illegalArgument(call, position, rows, columns):
            return "\(call) on \(rows)×\(columns) matrix: argument \(position) had an illegal value (INFO = -\(position))"
        case let .didNotConverge(call, info, rows, columns):
            return "\(call) on \(rows)×\(columns) matrix: did not converge (INFO = \(info))"
        case let .outOfRange(rows, columns, largestEntry):
            return "SVD of \(rows)×\(columns) matrix: its largest singular value overflows float32 (largest |entry| \(largestEntry)); the matrix is out of range"
        }
    }
}
