import Foundation
import PEFTEngine

/// A LLaMA-family model in a GGUF file or an HF folder, read with Hugging Face's names and layout:
/// the one place that knows how llama.cpp's converter renamed and reordered the tensors, and how
/// HF's names map to the training engine's (`engineName(forHF:)`).
///
/// Names (HF ↔ engine): `model.embed_tokens.weight` ↔ `wte`, `model.norm.weight` ↔ `ln_f.weight`,
/// `lm_head.weight` ↔ `lm_head.weight` (absent when tied), per layer N
/// `…input_layernorm` ↔ `blocks.N.ln1`, `…post_attention_layernorm` ↔ `blocks.N.ln2`,
/// `…self_attn.{q,k,v,o}_proj` ↔ `blocks.N.attn.{q,k,v,o}`, `…mlp.{gate,up,down}_proj` ↔
/// `blocks.N.mlp.{gate,up,down}` (each `.weight`).
///
/// Names (HF ↔ GGUF): `model.embed_tokens.weight` ↔ `token_embd.weight`, `model.norm.weight` ↔
/// `output_norm.weight`, `lm_head.weight` ↔ `output.weight` (absent when tied), and per layer N
/// `model.layers.N.{input_layernorm, post_attention_layernorm}.weight` ↔ `blk.N.{attn_norm, ffn_norm}.weight`,
/// `…self_attn.{q,k,v,o}_proj.weight` ↔ `blk.N.attn_{q,k,v,output}.weight`,
/// `…mlp.{gate,up,down}_proj.weight` ↔ `blk.N.ffn_{gate,up,down}.weight`.
///
/// Row order: the converter stores q_proj and k_proj with each head's rows interleaved, HF row
/// h·d + s·d/2 + i (head h, half s of the rotary pair, i < d/2) at GGUF row h·d + 2i + s, so that
/// ggml's adjacent-pair RoPE equals HF's rotate-half RoPE. `tensor(hf:)` undoes it (with the KV
/// head count for k_proj), giving exactly what transformers' GGUF loader gives (tested).
public final class LlamaCheckpoint {
    public struct Config: Equatable, Sendable {
        public var layers: Int, hidden: Int, heads: Int, kvHeads: Int, intermediate: Int, vocab: Int
        public var ropeTheta: Double, rmsEps: Double, tiedEmbeddings: Bool
        public var headDim: Int { hidden / heads }
    }

    /// Where the tensors come from: a GGUF file, or an HF folder's safetensors.
    enum Source {
        case gguf(GGUFFile)
        case folder(CheckpointSet)
    }
    let source: Source
    public let config: Config
    /// The file or folder, for messages.
    public var path: String {
        switch source {
        case .gguf(let g): return g.path
        case .folder(let c): return c.path
        }
    }

    /// An HF LLaMA folder: `config.json` (LlamaForCausalLM) and `model.safetensors` or a sharded
    /// index, read through `CheckpointSet` (F32, F16, BF16).
    public init(folder: String) throws {
        config = try Self.folderConfig(folder)
        source = .folder(try CheckpointSet(path: folder))
        try checkInventory()
    }

    /// The architecture an HF folder's `config.json` states (no weight is opened).
    public static func folderConfig(_ folder: String) throws -> Config {
        let configURL = URL(fileURLWithPath: folder).appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: configURL.path),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw GGUFError(path: configURL.path, what: "config.json", offset: nil, reason: "missing or not a JSON object")
        }
        func int(_ key: String) throws -> Int {
            guard let v = (json[key] as? NSNumber)?.intValue, v > 0 else {
                throw GGUFError(path: configURL.path, what: "key '\(key)'", offset: nil, reason: "missing or not a positive integer")
            }
            return v
        }
        if let type = json["model_type"] as? String, type != "llama" {
            throw GGUFError(path: configURL.path, what: "key 'model_type'", offset: nil, reason: "\(type); the workbench reads llama")
        }
        let hidden = try int("hidden_size"), heads = try int("num_attention_heads")
        let kvHeads = (json["num_key_value_heads"] as? NSNumber)?.intValue ?? heads
        guard kvHeads > 0, hidden % heads == 0, (hidden / heads) % 2 == 0, heads % kvHeads == 0 else {
            throw GGUFError(path: configURL.path, what: "config", offset: nil, reason: "hidden_size \(hidden), \(heads) heads, \(kvHeads) KV heads do not fit")
        }
        let rope = (json["rope_theta"] as? NSNumber)?.doubleValue
            ?? ((json["rope_parameters"] as? [String: Any])?["rope_theta"] as? NSNumber)?.doubleValue ?? 10_000
        return Config(layers: try int("num_hidden_layers"), hidden: hidden, heads: heads, kvHeads: kvHeads,
                        intermediate: try int("intermediate_size"), vocab: try int("vocab_size"), ropeTheta: rope,
                        rmsEps: (json["rms_norm_eps"] as? NSNumber)?.doubleValue ?? 1e-6,
                        tiedEmbeddings: (json["tie_word_embeddings"] as? Bool) ?? false)
    }

    public init(gguf: GGUFFile) throws {
        source = .gguf(gguf)
        func int(_ key: String) throws -> Int {
            guard let v = gguf.value(key)?.int, v > 0 else { throw GGUFError(path: gguf.path, what: "metadata key '\(key)'", offset: nil, reason: "missing or not a positive integer") }
            return v
        }
        guard gguf.value("general.architecture")?.string == "llama" else {
            throw GGUFError(path: gguf.path, what: "metadata key 'general.architecture'", offset: nil,
                            reason: "\(gguf.value("general.architecture").map { "\($0)" } ?? "missing"); the workbench reads llama")
        }
        let hidden = try int("llama.embedding_length"), heads = try int("llama.attention.head_count")
        let kvHeads = gguf.value("llama.attention.head_count_kv")?.int ?? heads
        guard kvHeads > 0, hidden % heads == 0, (hidden / heads) % 2 == 0, heads % kvHeads == 0 else {
            throw GGUFError(path: gguf.path, what: "metadata", offset: nil, reason: "d_model \(hidden), \(heads) heads, \(kvHeads) KV heads: heads must divide d_model into even head dimensions, KV heads must divide heads")
        }
        let vocab = gguf.info("token_embd.weight")?.shape.first ?? (gguf.value("tokenizer.ggml.tokens")?.strings?.count ?? 0)
        config = Config(layers: try int("llama.block_count"), hidden: hidden, heads: heads, kvHeads: kvHeads,
                        intermediate: try int("llama.feed_forward_length"), vocab: vocab,
                        ropeTheta: gguf.value("llama.rope.freq_base")?.double ?? 10_000,
                        rmsEps: gguf.value("llama.attention.layer_norm_rms_epsilon")?.double ?? 1e-5,
                        tiedEmbeddings: gguf.info("output.weight") == nil)
        try checkInventory()
    }

    /// Every tensor the model reads, by HF name, with the HF shape its configuration implies
    /// (`lm_head.weight` only when the embeddings are not tied).
    public var expectedShapes: [(name: String, shape: [Int])] {
        let c = config, kv = c.kvHeads * c.headDim
        var shapes: [(name: String, shape: [Int])] = [("model.embed_tokens.weight", [c.vocab, c.hidden])]
        for l in 0..<c.layers {
            let p = "model.layers.\(l)."
            shapes += [(p + "self_attn.q_proj.weight", [c.hidden, c.hidden]), (p + "self_attn.k_proj.weight", [kv, c.hidden]),
                       (p + "self_attn.v_proj.weight", [kv, c.hidden]), (p + "self_attn.o_proj.weight", [c.hidden, c.hidden]),
                       (p + "mlp.gate_proj.weight", [c.intermediate, c.hidden]), (p + "mlp.up_proj.weight", [c.intermediate, c.hidden]),
                       (p + "mlp.down_proj.weight", [c.hidden, c.intermediate]),
                       (p + "input_layernorm.weight", [c.hidden]), (p + "post_attention_layernorm.weight", [c.hidden])]
        }
        shapes.append(("model.norm.weight", [c.hidden]))
        if !c.tiedEmbeddings { shapes.append(("lm_head.weight", [c.vocab, c.hidden])) }
        return shapes
    }

    /// Checks, from the file's header alone, that every tensor of `expectedShapes` is stored
    /// with its shape, so a damaged or mismatched checkpoint is refused before anything runs.
    func checkInventory() throws {
        // Count first: a layer count from a damaged file must not size anything.
        let stored: Int
        switch source {
        case .gguf(let gguf): stored = gguf.tensors.count
        case .folder(let set): stored = set.names.count
        }
        let (perLayer, overflow) = config.layers.multipliedReportingOverflow(by: Self.perLayer.count)
        guard !overflow, perLayer + 2 <= stored else {
            throw GGUFError(path: path, what: "the layer count", offset: nil,
                            reason: "\(config.layers) layers need \(overflow ? "more than \(Int.max)" : "\(perLayer + 2)") tensors, but the file holds \(stored)")
        }
        for (name, shape) in expectedShapes {
            let stored: [Int]?, storedName: String
            switch source {
            case .gguf(let gguf):
                storedName = Self.ggufName(forHF: name, tied: config.tiedEmbeddings) ?? name
                stored = gguf.info(storedName)?.shape
            case .folder(let set):
                storedName = name
                stored = try? set.info(name).shape
            }
            guard let stored else {
                throw GGUFError(path: path, what: "tensor '\(storedName)'", offset: nil, reason: "missing; a LLaMA of \(config.layers) layers needs it")
            }
            guard stored == shape else {
                throw GGUFError(path: path, what: "tensor '\(storedName)'", offset: nil,
                                reason: "shape \(stored), but the configuration (d_model \(config.hidden), \(config.heads) heads over \(config.kvHeads), d_ff \(config.intermediate), vocabulary \(config.vocab)) needs \(shape)")
            }
        }
    }

    /// One layer's tensors under their three names (the engine's after `blocks.N.`).
    static let perLayer: [(hf: String, gguf: String, engine: String)] = [
        ("input_layernorm.weight", "attn_norm.weight", "ln1.weight"),
        ("post_attention_layernorm.weight", "ffn_norm.weight", "ln2.weight"),
        ("self_attn.q_proj.weight", "attn_q.weight", "attn.q.weight"), ("self_attn.k_proj.weight", "attn_k.weight", "attn.k.weight"),
        ("self_attn.v_proj.weight", "attn_v.weight", "attn.v.weight"), ("self_attn.o_proj.weight", "attn_output.weight", "attn.o.weight"),
        ("mlp.gate_proj.weight", "ffn_gate.weight", "mlp.gate.weight"), ("mlp.up_proj.weight", "ffn_up.weight", "mlp.up.weight"),
        ("mlp.down_proj.weight", "ffn_down.weight", "mlp.down.weight"),
    ]

    /// The engine's parameter name of an HF tensor name, or nil for a name a LLaMA has not.
    public static func engineName(forHF name: String) -> String? {
        switch name {
        case "model.embed_tokens.weight": return "wte"
        case "model.norm.weight": return "ln_f.weight"
        case "lm_head.weight": return "lm_head.weight"
        default: break
        }
        let parts = name.split(separator: ".", maxSplits: 3).map(String.init)
        guard parts.count == 4, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]), layer >= 0,
              let entry = perLayer.first(where: { $0.hf == parts[3] }) else { return nil }
        return "blocks.\(layer).\(entry.engine)"
    }

    /// The engine's configuration of this model, its rotary table covering `contextLength` positions.
    public func modelConfig(contextLength: Int = 2048) throws -> ModelConfig {
        try config.modelConfig(contextLength: contextLength)
    }

    /// Copies every tensor into `model`'s parameters (dequantized, in HF's row order, under the
    /// engine's names). The model must have been built from `modelConfig`.
    public func load(into model: TransformerModel) throws {
        for (name, _) in expectedShapes {
            guard let engine = Self.engineName(forHF: name) else { continue }
            try model.parameters.load(named: engine, from: try tensor(hf: name))
        }
    }

    /// Every HF tensor name of the model, in transformers' state-dict order (`lm_head.weight`
    /// listed even when tied, as transformers lists it).
    public var hfNames: [String] {
        expectedShapes.map(\.name) + (config.tiedEmbeddings ? ["lm_head.weight"] : [])
    }

    /// The GGUF name of an HF tensor name, or nil for a name the model does not have.
    public static func ggufName(forHF name: String, tied: Bool) -> String? {
        switch name {
        case "model.embed_tokens.weight": return "token_embd.weight"
        case "model.norm.weight": return "output_norm.weight"
        case "lm_head.weight": return tied ? "token_embd.weight" : "output.weight"
        default: break
        }
        let parts = name.split(separator: ".", maxSplits: 3).map(String.init)
        guard parts.count == 4, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]), layer >= 0,
              let entry = perLayer.first(where: { $0.hf == parts[3] }) else { return nil }
        return "blk.\(layer).\(entry.gguf)"
    }

    /// An HF tensor, dequantized, in HF's shape and row order.
    public func tensor(hf name: String) throws -> Tensor {
        let gguf: GGUFFile
        switch source {
        case .gguf(let g): gguf = g
        case .folder(let set):
            let stored = name == "lm_head.weight" && config.tiedEmbeddings ? "model.embed_tokens.weight" : name
            return try set.tensor(named: stored)
        }
        guard let source = Self.ggufName(forHF: name, tied: config.tiedEmbeddings), gguf.info(source) != nil else {
            throw GGUFError(path: gguf.path, what: "tensor '\(name)'", offset: nil, reason: "no such tensor in this LLaMA model")
        }
        let raw = try gguf.tensor(named: source)
        if name.hasSuffix("self_attn.q_proj.weight") { return Self.undoRotaryInterleave(raw, heads: config.heads) }
        if name.hasSuffix("self_attn.k_proj.weight") { return Self.undoRotaryInterleave(raw, heads: config.kvHeads) }
        return raw
    }

    /// HF row h·d + s·d/2 + i ← GGUF row h·d + 2i + s, for an [heads·d, in] matrix.
    public static func undoRotaryInterleave(_ t: Tensor, heads: Int) -> Tensor {
        precondition(t.shape.count == 2 && t.shape[0] % (2 * heads) == 0, "undoRotaryInterleave: shape \(t.shape) for \(heads) heads")
        let rows = t.shape[0], columns = t.shape[1], d = rows / heads, half = d / 2
        var out = [Float](repeating: 0, count: t.count)
        t.storage.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for h in 0..<heads {
                    for s in 0..<2 {
                        for i in 0..<half {
                            let to = (h * d + s * half + i) * columns, from = (h * d + 2 * i + s) * columns
                            for c in 0..<columns { dst[to + c] = src[from + c] }
                        }
                    }
                }
            }
        }
        return Tensor(shape: t.shape, storage: out)
    }
}

extension LlamaCheckpoint {
    /// The model's forward pass for evaluation and generation (every tensor dequantized once).
    public func inference(maxPositions: Int = 2048) throws -> LlamaInference {
        let c = config
        return try LlamaInference(
            config: .init(vocab: c.vocab, hidden: c.hidden, layers: c.layers, heads: c.heads, kvHeads: c.kvHeads,
                          intermediate: c.intermediate, ropeTheta: c.ropeTheta, rmsEps: Float(c.rmsEps), tiedEmbeddings: c.tiedEmbeddings),
            maxPositions: maxPositions, weight: { try self.tensor(hf: $0) })
    }
}

/// The ChatML prompt of SmolLM2's chat template (`tokenizer.chat_template`) for one user message,
/// with the generation prompt: the template's default system message first, as transformers'
/// `apply_chat_template` renders it.
public enum ChatML {
    public static let defaultSystem = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

    public static func prompt(user: String, system: String = defaultSystem) -> String {
        ChatTemplate(defaultSystem: system).prompt(user: user)
    }
}
