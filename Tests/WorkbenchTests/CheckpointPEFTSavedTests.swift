import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// Adapters saved by HF peft 0.21 itself (`Tests/Fixtures/make_peft_fixtures.py`), checked
/// against peft's own `merge_and_unload()`: key names, rsLoRA scaling, `rank_pattern` and DoRA's
/// magnitude convention are read as peft writes and applies them.
@Suite("Checkpoints: adapters saved by peft, against peft's merge")
struct CheckpointPEFTSavedTests {
    /// Float32 merge vs peft's (also Float32, other summation order).
    static let tolerance: Float = 1e-5

    @Test(arguments: ["lora", "dora"])
    func mergedWeightsEqualPeftsMergeAndUnload(kind: String) throws {
        let adapter = try PEFTAdapter(folder: CheckpointFixtures.path("peft_\(kind)"))
        let base = try SafetensorsFile(path: CheckpointFixtures.path("peft_base.safetensors"))
        let expected = try SafetensorsFile(path: CheckpointFixtures.path("peft_\(kind)_merged.safetensors"))
        #expect(adapter.modules.map(\.name).sorted() == ["layers.0.fc1", "layers.0.q_proj", "layers.1.fc1", "layers.1.q_proj"])
        for module in adapter.modules {
            let merged = try adapter.mergedWeight(for: module, base: base)
            let reference = try expected.tensor(named: module.baseWeightName)
            let scale = reference.storage.map(abs).max()!
            let worst = zip(merged.storage, reference.storage).map { abs($0 - $1) }.max()!
            #expect(worst <= Self.tolerance * scale, "\(kind) \(module.name): max |Δ| \(worst)")
        }
    }

    @Test func rankPatternAndRSLoRAAreReadFromPeftsConfig() throws {
        let adapter = try PEFTAdapter(folder: CheckpointFixtures.path("peft_lora"))
        let fc1 = try #require(adapter.modules.first { $0.name == "layers.0.fc1" })
        let q = try #require(adapter.modules.first { $0.name == "layers.0.q_proj" })
        #expect(fc1.rank == 2 && q.rank == 4)
        #expect(abs(fc1.scaling - 8 / 2.0.squareRoot()) < 1e-12 && abs(q.scaling - 8 / 4.0.squareRoot()) < 1e-12)
    }
}
