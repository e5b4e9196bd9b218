import Foundation
import PEFTEngine

/// A pretrained LLaMA-family model as a study's base: `base: {model: smollm2-135m-instruct}`
/// (a `KnownModel`, fetched into `PackageCache` and SHA-256 checked on first use), or
/// `base: {checkpoint: path}` naming a `.gguf` file or an HF folder (`config.json` +
/// safetensors + `tokenizer.json`).
///
/// Its shape is known when the study is parsed — a known model's from `KnownModel.config`, a
/// file's from its header or `config.json` — so every method's configuration is checked against
/// it before anything runs; the weights and tokenizer are read when the study resolves.
public enum PretrainedBase: Equatable, Sendable {
    case known(KnownModel)
    case gguf(path: String)
    case folder(path: String)

    /// What results record as the base's source.
    public var label: String {
        switch self {
        case .known(let model): "model:\(model.name)"
        case .gguf(let path): "gguf:\(path)"
        case .folder(let path): "folder:\(path)"
        }
    }

    /// The file whose content identifies the weights (for `RunIdentity`); nil for a known model,
    /// whose SHA-256 is fixed.
    public var contentPath: String? {
        switch self {
        case .known: nil
        case .gguf(let path): path
        case .folder(let path): URL(fileURLWithPath: path).appendingPathComponent("config.json").path
        }
    }

    /// The architecture, without reading any weight.
    public func config() throws -> LlamaCheckpoint.Config {
        switch self {
        case .known(let model): model.config
        case .gguf(let path): try LlamaCheckpoint(gguf: GGUFFile(path: path)).config
        case .folder(let path): try LlamaCheckpoint.folderConfig(path)
        }
    }

    /// What `open` returns: the checkpoint (weights read lazily through it), its tokenizer, and
    /// its chat template when it is ChatML.
    public struct Opened {
        public var checkpoint: LlamaCheckpoint
        public var tokenizer: ByteLevelBPETokenizer
        public var chatTemplate: ChatTemplate?
    }

    public func open(log: (String) -> Void = { _ in }) throws -> Opened {
        func fromGGUF(_ path: String) throws -> Opened {
            let gguf = try GGUFFile(path: path)
            let tokenizer = try ByteLevelBPETokenizer(gguf: gguf)
            let template = gguf.value("tokenizer.chat_template")?.string.flatMap(ChatTemplate.init(jinja:))
            return Opened(checkpoint: try LlamaCheckpoint(gguf: gguf), tokenizer: tokenizer,
                          chatTemplate: template.flatMap { $0.fits(tokenizer) ? $0 : nil })
        }
        switch self {
        case .known(let model):
            return try fromGGUF(try PackageCache.resolve(model, log: log).path)
        case .gguf(let path):
            return try fromGGUF(path)
        case .folder(let path):
            let folder = URL(fileURLWithPath: path)
            let tokenizer = try ByteLevelBPETokenizer(tokenizerJSON: folder.appendingPathComponent("tokenizer.json").path)
            var template: ChatTemplate?
            if let data = FileManager.default.contents(atPath: folder.appendingPathComponent("tokenizer_config.json").path),
               let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
               let jinja = json["chat_template"] as? String {
                template = ChatTemplate(jinja: jinja).flatMap { $0.fits(tokenizer) ? $0 : nil }
            }
            return Opened(checkpoint: try LlamaCheckpoint(folder: path), tokenizer: tokenizer, chatTemplate: template)
        }
    }

    /// Every parameter of a model built from `config(contextLength:)`, in arena order.
    public func weights(config: ModelConfig, log: (String) -> Void = { _ in }) throws -> (weights: [Float], tokenizer: ByteLevelBPETokenizer) {
        let opened = try open(log: log)
        let model = TransformerModel(config: config, maxB: 1, maxT: 1)
        try opened.checkpoint.load(into: model)
        return (model.parameters.values.copy(0..<model.parameters.count), opened.tokenizer)
    }
}

extension LlamaCheckpoint.Config {
    /// The engine's configuration, its rotary table covering `contextLength` positions.
    public func modelConfig(contextLength: Int) throws -> ModelConfig {
        try ModelConfig(architecture: .llama, vocabSize: vocab, dModel: hidden, layers: layers, heads: heads,
                        kvHeads: kvHeads, dFF: intermediate, contextLength: contextLength, ropeTheta: ropeTheta,
                        rmsNormEpsilon: Float(rmsEps), tiedEmbeddings: tiedEmbeddings)
    }
}
