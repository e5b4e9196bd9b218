import PEFTEngine

/// Free-running (greedy) decoding, the stricter companion of the teacher-forced metrics.
///
/// Each prompt (an empty one replaced by the sequence start, as in `Batcher`) is extended one token
/// at a time by the argmax of the logits at its last position, until the end marker appears, the
/// row has `maxNewTokens` new tokens or the sequence fills the context. Rows of a batch are
/// right-padded; causal attention makes the padding invisible to earlier positions. Forwards go
/// through `Trainer.evaluate` with an all-zero mask, so an attached PEFT method is applied
/// exactly as in evaluation. Cost: one forward of [B, T ≤ maxT] per generated token, no cache.
public enum GreedyDecoding {
    /// The generated tokens of each prompt, end marker included when it was produced.
    public static func decode(prompts: [[Int32]], trainer: Trainer, batchSize: Int, maxNewTokens: Int,
                              tokenizer: any TaskTokenizer = Vocabulary()) -> [[Int32]] {
        let model = trainer.model
        let maxT = min(model.config.contextLength, model.activations.maxT)
        precondition(batchSize >= 1 && batchSize <= model.activations.maxB, "greedy decoding: batch size \(batchSize) outside 1...\(model.activations.maxB)")
        var outputs = [[Int32]](repeating: [], count: prompts.count)
        for start in stride(from: 0, to: prompts.count, by: batchSize) {
            let rows = min(batchSize, prompts.count - start)
            var sequences = (0..<rows).map { prompts[start + $0] }
            for s in sequences { precondition(!s.isEmpty && s.count <= maxT, "greedy decoding: prompt of \(s.count) tokens outside 1...\(maxT)") }
            var done = sequences.map { $0.count >= maxT }
            for _ in 0..<maxNewTokens where done.contains(false) {
                let T = sequences.map(\.count).max()!
                var tokens = [Int32](repeating: tokenizer.paddingID, count: batchSize * T)
                for (r, s) in sequences.enumerated() { for (t, token) in s.enumerated() { tokens[r * T + t] = token } }
                let zeros = [Int32](repeating: 0, count: batchSize * T)
                let result = trainer.evaluate(tokens: tokens, targets: zeros, mask: [Float](repeating: 0, count: batchSize * T), B: batchSize, T: T)
                for r in 0..<rows where !done[r] {
                    let next = result.predictions[r * T + sequences[r].count - 1]
                    sequences[r].append(next)
                    outputs[start + r].append(next)
                    done[r] = next == tokenizer.endOfAnswerID || sequences[r].count >= maxT
                }
            }
        }
        return outputs
    }

    /// Fraction of `examples` whose greedy continuation is exactly the answer followed by the end
    /// marker (or, for examples without one, starts with the answer).
    public static func exactMatch(_ task: any Task, trainer: Trainer, examples: [Example], batchSize: Int,
                                  tokenizer: any TaskTokenizer = Vocabulary()) throws -> Double {
        guard !examples.isEmpty else { return 0 }
        let end = tokenizer.endOfAnswerID
        var prompts: [[Int32]] = [], answers: [[Int32]] = []
        for (i, e) in examples.enumerated() {
            do {
                prompts.append(e.prompt.isEmpty ? [tokenizer.sequenceStartID] : try tokenizer.encode(e.prompt, mapUnknown: task.mapsUnknownCharacters))
                answers.append(try tokenizer.encode(e.answer, mapUnknown: task.mapsUnknownCharacters) + (e.endsWithMarker ? [end] : []))
            } catch let error as VocabularyError {
                throw BatcherError.characterOutsideVocabulary(task: task.name, index: i, example: e, detail: error.description)
            }
        }
        let generated = decode(prompts: prompts, trainer: trainer, batchSize: batchSize, maxNewTokens: answers.map(\.count).max()!,
                               tokenizer: tokenizer)
        let right = zip(generated, answers).filter { $0.0.starts(with: $0.1) }.count
        return Double(right) / Double(examples.count)
    }
}
