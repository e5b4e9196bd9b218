import Foundation
import PEFTEngine
@testable import Workbench

/// Runs `body` with a fresh empty folder under the system temporary directory, removed afterwards.
func withTemporaryFolder<T>(_ body: (URL) throws -> T) throws -> T {
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("workbench-store-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    return try body(folder)
}

/// Float32 bit patterns that a lossy path would alter: quiet and signalling NaNs with payloads,
/// negative NaN, ±∞, −0, the smallest subnormal, the largest finite value.
let specialFloatBits: [UInt32] = [
    0x7FC0_0000, 0xFFC0_0001, 0x7F80_0001, 0x7FC1_2345, 0x7F80_0000, 0xFF80_0000,
    0x8000_0000, 0x0000_0001, 0x7F7F_FFFF,
]

/// A tensor of `shape` whose elements cycle through the special bit patterns and ordinary values.
func patternedTensor(_ shape: [Int]) -> Tensor {
    let count = shape.reduce(1, *)
    let storage = (0..<count).map { index -> Float in
        index % 3 == 0
            ? Float(bitPattern: specialFloatBits[(index / 3) % specialFloatBits.count])
            : Float(index) * 0.37 - 1.5
    }
    return Tensor(shape: shape, storage: storage)
}

/// Whether two tensors have the same shape and bit-identical elements.
func bitIdentical(_ a: Tensor, _ b: Tensor) -> Bool {
    a.shape == b.shape && a.storage.map(\.bitPattern) == b.storage.map(\.bitPattern)
}
