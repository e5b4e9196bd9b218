import Foundation
import PEFTEngine
@testable import Workbench

/// The fixtures written by `Tests/Fixtures/make_safetensors_fixtures.py` (reference safetensors
/// library + numpy). WorkbenchTests declares no resources, so they are found next to this file.
enum CheckpointFixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/checkpoints", isDirectory: true)
    static let regenerate =
        "regenerate with: python3 Tests/Fixtures/make_safetensors_fixtures.py --out Tests/WorkbenchTests/Fixtures/checkpoints"

    static func path(_ relative: String) -> String { folder.appendingPathComponent(relative).path }

    /// Opens a fixture file and checks its magic and version.
    static func open(_ relative: String) throws -> SafetensorsFile {
        let file = try SafetensorsFile(path: path(relative))
        precondition(file.metadata["magic"] == "workbench-safetensors-fixtures" && file.metadata["version"] == "1",
                     "\(relative) is not a version-1 workbench fixture; \(regenerate)")
        return file
    }
}

/// Raw safetensors bytes: an 8-byte little-endian length (`declaredLength`, default the header's
/// byte count), the header bytes, then `data`.
func rawSafetensors(header: [UInt8], data: [UInt8], declaredLength: UInt64? = nil) -> [UInt8] {
    let length = declaredLength ?? UInt64(header.count)
    return withUnsafeBytes(of: length.littleEndian, Array.init) + header + data
}

func rawSafetensors(header: String, dataBytes: Int, declaredLength: UInt64? = nil) -> [UInt8] {
    rawSafetensors(header: Array(header.utf8), data: [UInt8](repeating: 0, count: dataBytes), declaredLength: declaredLength)
}

/// Writes `bytes` to `name` in `folder` and returns the path.
@discardableResult
func writeBytes(_ bytes: [UInt8], to name: String, in folder: URL) throws -> String {
    let url = folder.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url.path
}

/// The error `body` throws as a `CheckpointError`, or nil if it throws nothing (or something else).
func checkpointError(_ body: () throws -> Void) -> CheckpointError? {
    do { try body() } catch let error as CheckpointError { return error } catch { return nil }
    return nil
}

/// Largest |a − b| over two equally shaped tensors.
func maxAbsoluteDifference(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape, "shapes \(a.shape) and \(b.shape) differ")
    return zip(a.storage, b.storage).map { abs($0 - $1) }.max() ?? 0
}
