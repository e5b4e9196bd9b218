import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// SmolLM2-135M's GGUF read with HF names and row order equals what transformers' GGUF loader
/// gives LlamaForCausalLM, tensor for tensor, bit for bit (XXH64 of the float32 bytes; fixture
/// written by Tests/Fixtures/make_gguf_mapping_fixture.py).
@Suite("Checkpoints: a LLaMA GGUF with Hugging Face's names", .serialized)
struct CheckpointLlamaGGUFTests {
    struct Fixture: Decodable {
        struct Config: Decodable { var layers, hidden, heads, kv_heads, intermediate, vocab: Int; var rope_theta: Double; var rms_eps: Double; var tied: Bool }
        struct Entry: Decodable { var shape: [Int]; var xxh64: String }
        var magic: String
        var version: Int
        var config: Config
        var tensors: [String: Entry]
    }

    @Test("config, names, shapes and every tensor's bits (q and k rows un-interleaved) equal transformers'", RealData.model)
    func smollm2() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/llama/smollm2_weights.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        #expect(fixture.magic == "workbench-gguf-mapping-fixture" && fixture.version == 1)
        let model = try LlamaCheckpoint(gguf: try GGUFFile(path: try PackageCache.resolve(.smollm2_135m_instruct).path))
        let c = model.config, f = fixture.config
        #expect(c == LlamaCheckpoint.Config(layers: f.layers, hidden: f.hidden, heads: f.heads, kvHeads: f.kv_heads, intermediate: f.intermediate,
                                            vocab: f.vocab, ropeTheta: f.rope_theta, rmsEps: f.rms_eps, tiedEmbeddings: f.tied))
        #expect(Set(model.hfNames) == Set(fixture.tensors.keys))
        for name in model.hfNames {
            let t = try model.tensor(hf: name)
            var h = XXHash64()
            t.storage.withUnsafeBytes { h.update($0) }
            let want = try #require(fixture.tensors[name])
            #expect(t.shape == want.shape && String(format: "%016llx", h.finalize()) == want.xxh64, "\(name)")
        }
    }

    @Test("un-interleaving the rotary rows: HF row h·d + s·d/2 + i comes from GGUF row h·d + 2i + s")
    func rotaryRows() {
        // 2 heads of d = 4, one column: GGUF rows 0…7 hold their own index.
        let t = Tensor(shape: [8, 1], storage: (0..<8).map(Float.init))
        #expect(LlamaCheckpoint.undoRotaryInterleave(t, heads: 2).storage == [0, 2, 1, 3, 4, 6, 5, 7])
    }
}
