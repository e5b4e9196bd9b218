import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// The layout that `scripts/check_h5py_roundtrip.py` checks with h5py. Keep the two in step.
///
/// To produce a file for the script (tests themselves never run Python):
///
///     WORKBENCH_REFERENCE_H5=/tmp/reference.h5 swift test --filter StoreReferenceLayoutTests
///     python3 scripts/check_h5py_roundtrip.py /tmp/reference.h5
enum ReferenceLayout {
    static let tensorShapes: [[Int]] = [[], [7], [3, 5], [2, 3, 4], [2, 1, 3, 2]]

    static func write(to url: URL) throws {
        try HDF5Transaction.write(to: url) { root in
            try root.setAttribute("study", "ΔW rank ✓")
            try root.setAttribute("seed", 1234)
            try root.setAttribute("learning_rate", 3e-4)
            for shape in tensorShapes {
                try root.write(patternedTensor(shape), to: "tensors/rank\(shape.count)")
            }
            try root.write(patternedTensor([40, 50]), to: "tensors/compressed", compression: .shuffleGzip(level: 4))
            try root.dataset("tensors/rank2").setAttribute("parameter", "layer0.attn.wq")
            let cell = try root.createGroup("runs/lora/seed0/after_task1")
            try cell.setAttribute("r", 8)
            try cell.setAttribute("lora_alpha", 16.5)
            try cell.setAttribute("method", "lora")
            try root.write([Int32.min, -1, 0, 1, Int32.max, 42], shape: [2, 3], to: "ints/int32")
            try root.write([Int64.min, -1, 0, 1, Int64.max], to: "ints/int64")
            try root.write([UInt8(0), 1, 127, 128, 255], to: "ints/uint8")
            try root.writeValue(.double(0.125), to: "scalars/loss")
            try root.writeValue(.integer(-9_000_000_000), to: "scalars/steps")
            try root.writeValue(.string("naïve ✓"), to: "scalars/note")
        }
    }
}

@Suite("Store: the reference layout checked by h5py")
struct StoreReferenceLayoutTests {
    @Test("The reference layout reads back in Swift; set WORKBENCH_REFERENCE_H5 to keep a copy for the h5py script")
    func referenceLayout() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("reference.h5")
            try ReferenceLayout.write(to: url)
            let file = try HDF5File.open(url)
            #expect(try file.isComplete())
            let root = try file.root()
            for shape in ReferenceLayout.tensorShapes {
                #expect(bitIdentical(try root.readTensor("tensors/rank\(shape.count)"), patternedTensor(shape)))
            }
            #expect(try root.group("runs/lora/seed0/after_task1").stringAttribute("method") == "lora")
            if let keep = ProcessInfo.processInfo.environment["WORKBENCH_REFERENCE_H5"], !keep.isEmpty {
                let destination = URL(fileURLWithPath: keep)
                try? FileManager.default.removeItem(at: destination)
                try FileManager.default.copyItem(at: url, to: destination)
            }
        }
    }
}
