import Foundation
import PEFTEngine
import Testing
@testable import Workbench

@Suite("Store: the inspector describes any file's tree")
struct StoreInspectorTests {
    /// A small results file: nested groups, a plain and a compressed tensor, attributes of each type.
    private func writeSample(_ url: URL) throws {
        try HDF5Transaction.write(to: url) { root in
            try root.setAttribute("study", "demo")
            let cell = try root.createGroup("runs/lora/seed0")
            try cell.setAttribute("r", 8)
            try cell.setAttribute("lora_alpha", 16.0)
            try cell.write(patternedTensor([4, 3]), to: "layer0.wq")
            try cell.write(patternedTensor([64, 8]), to: "layer0.wk", compression: .shuffleGzip(level: 4))
            try cell.dataset("layer0.wq").setAttribute("parameter", "layer0.wq")
            try root.write([UInt8](repeating: 1, count: 5), to: "tokens")
        }
    }

    @Test("The tree lists groups, datasets with shape, type, layout and filters, and attributes")
    func tree() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("sample.h5")
            try writeSample(url)
            let tree = try HDF5Inspector.inspect(url)
            #expect(tree.path == "/")
            #expect(tree.children.map(\.name) == ["runs", "tokens"])
            #expect(tree.attributes.map(\.name) == ["study", "workbench_complete", "workbench_version"])
            #expect(tree.attributes.first?.value == .string("demo"))

            let cell = try #require(tree.node(at: "runs/lora/seed0"))
            #expect(cell.path == "/runs/lora/seed0")
            #expect(cell.attributes == [HDF5Attribute(name: "lora_alpha", value: .double(16)),
                                        HDF5Attribute(name: "r", value: .integer(8))])
            let wq = try #require(cell.node(at: "layer0.wq"))
            guard case .dataset(let plain) = wq.kind else { Issue.record("layer0.wq is \(wq.kind)"); return }
            #expect(plain == HDF5DatasetSummary(shape: [4, 3], dataType: .float(bits: 32), layout: .contiguous, filters: []))
            #expect(wq.attributes == [HDF5Attribute(name: "parameter", value: .string("layer0.wq"))])
            let wk = try #require(cell.node(at: "layer0.wk"))
            guard case .dataset(let packed) = wk.kind else { Issue.record("layer0.wk is \(wk.kind)"); return }
            #expect(packed.layout == .chunked([64, 8]))
            #expect(packed.filters.map(\.description) == ["shuffle", "deflate(4)"])
        }
    }

    @Test("The rendering shows one line per object and one per attribute, indented by depth")
    func rendering() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("sample.h5")
            try writeSample(url)
            let lines = HDF5Inspector.render(try HDF5Inspector.inspect(url)).split(separator: "\n").map(String.init)
            #expect(lines.first == "/  (group)")
            #expect(lines.contains("    @study = \"demo\""))
            #expect(lines.contains("  runs/  (group)"))
            #expect(lines.contains("      seed0/  (group)"))
            #expect(lines.contains("          @r = 8"))
            #expect(lines.contains("        layer0.wq  float32 [4, 3]  contiguous"))
            #expect(lines.contains("            @parameter = \"layer0.wq\""))
            #expect(lines.contains("        layer0.wk  float32 [64, 8]  chunked [64, 8]  shuffle, deflate(4)"))
            #expect(lines.contains("  tokens  uint8 [5]  contiguous"))
        }
    }
}
