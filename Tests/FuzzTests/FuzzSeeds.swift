import Foundation

/// The valid inputs the mutators start from: files committed with the tests.
enum FuzzSeeds {
    static let tests = WorkbenchProcess.packageRoot.appendingPathComponent("Tests")

    /// One-layer LLaMA with a byte-level BPE vocabulary (`Tests/Fixtures/make_fuzz_gguf_fixture.py`).
    static let tinyLlamaGGUF = tests.appendingPathComponent("FuzzTests/Seeds/tiny_llama.gguf")

    /// The peft fixtures (`Tests/Fixtures/make_peft_fixtures.py`): a base, a LoRA and a DoRA adapter.
    static let checkpoints = tests.appendingPathComponent("WorkbenchTests/Fixtures/checkpoints")
    static let peftBase = checkpoints.appendingPathComponent("peft_base.safetensors")
    static let peftLoRA = checkpoints.appendingPathComponent("peft_lora")
    static let peftDoRA = checkpoints.appendingPathComponent("peft_dora")
    static let peftLoRAMerged = checkpoints.appendingPathComponent("peft_lora_merged.safetensors")
}
