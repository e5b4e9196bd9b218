import PEFTEngine

/// Turns examples into (tokens, targets, mask) batches of shape [B, T] for `Trainer`.
///
/// Encoding of one example through the `TaskTokenizer` (the character `Vocabulary` unless
/// another is given; "end" and "padding" are its `endOfAnswerID` and `paddingID`):
///
///     s = prompt tokens ‖ answer tokens ‖ [end]      (end marker only if `endsWithMarker`)
///     an empty prompt is replaced by [start], the tokenizer's `sequenceStartID` (the end
///     marker for the character vocabulary, `<|endoftext|>` for a BPE model; see `Example`)
///     row t (0 ≤ t < |s| − 1):  tokens[t] = s[t],  targets[t] = s[t + 1],
///                                mask[t] = 1 iff t + 1 ≥ |prompt|  (the TARGET is an answer token or the end marker)
///     rows are right-padded with the padding id (token and target) and mask 0.
///
/// T = `sequenceLength` = max over the examples of |s| − 1, fixed at init; an example with
/// |s| − 1 > contextLength is rejected with a `BatcherError` naming the task and the example.
/// Every example is encoded once at init into one flat buffer; `nextTrainingBatch()` and
/// `fillSequential(startingAt:)` then rewrite the three [B, T] arrays in place (no allocation
/// per step). Pass `batcher.tokens` etc. straight to `Trainer.step` and do not keep them
/// across calls (a held copy would make the next refill copy-on-write).
///
/// Training order: epoch e visits the examples in the order of a Fisher–Yates shuffle of
/// 0..<n drawn from `SeededRNG(seed: seed).fork("epoch <e>")`; a batch that reaches the end of an
/// epoch continues with the next epoch's order, so every batch has exactly B rows.
public final class Batcher {
    public let taskName: String
    /// B, rows per batch.
    public let batchSize: Int
    /// T, positions per row.
    public let sequenceLength: Int
    public let exampleCount: Int
    public let seed: UInt64
    /// [B, T] input tokens of the current batch.
    public private(set) var tokens: [Int32]
    /// [B, T] next-token targets of the current batch.
    public private(set) var targets: [Int32]
    /// [B, T] 1 where the target is an answer token or the end marker, else 0.
    public private(set) var mask: [Float]
    /// [B] index of the example in each row of the current batch; −1 for padding rows.
    public private(set) var rowExamples: [Int]
    /// Epoch of the next training row, and position within its order.
    public private(set) var epoch = 0, cursor = 0

    /// Encoded sequences s, concatenated; example i is flat[offsets[i]..<offsets[i + 1]].
    private let flat: [Int32]
    /// [n + 1] start of each sequence in `flat`.
    private let offsets: [Int]
    /// [n] index in s of the first target that counts (= |prompt|, or 1 for an empty prompt).
    private let answerStarts: [Int]
    /// [n] the current epoch's visiting order.
    private var order: [Int]
    /// The tokenizer's padding id.
    private let padding: Int32

    /// Encodes `examples` for batches of `batchSize` rows and at most `contextLength` positions.
    public init(taskName: String, examples: [Example], batchSize: Int, contextLength: Int,
                seed: UInt64 = 0, mapUnknown: Bool = false, tokenizer: any TaskTokenizer = Vocabulary()) throws {
        precondition(batchSize >= 1, "Batcher: batch size \(batchSize) must be ≥ 1")
        precondition(contextLength >= 1, "Batcher: context length \(contextLength) must be ≥ 1")
        let end = tokenizer.endOfAnswerID, padding = tokenizer.paddingID, start = tokenizer.sequenceStartID
        var flat: [Int32] = [], offsets = [0], starts: [Int] = []
        var longest = 1
        for (i, e) in examples.enumerated() {
            let prompt: [Int32], answer: [Int32]
            do {
                prompt = e.prompt.isEmpty ? [start] : try tokenizer.encode(e.prompt, mapUnknown: mapUnknown)
                answer = try tokenizer.encode(e.answer, mapUnknown: mapUnknown)
            } catch let error as VocabularyError {
                throw BatcherError.characterOutsideVocabulary(task: taskName, index: i, example: e, detail: error.description)
            }
            let length = prompt.count + answer.count + (e.endsWithMarker ? 1 : 0)
            guard length - 1 <= contextLength else {
                throw BatcherError.exampleTooLong(task: taskName, index: i, example: e, positions: length - 1, contextLength: contextLength)
            }
            guard length >= 2 else {
                throw BatcherError.emptyExample(task: taskName, index: i, example: e)
            }
            flat += prompt
            flat += answer
            if e.endsWithMarker { flat.append(end) }
            offsets.append(flat.count)
            starts.append(prompt.count)
            longest = max(longest, length - 1)
        }
        self.taskName = taskName
        self.batchSize = batchSize
        self.sequenceLength = longest
        self.exampleCount = examples.count
        self.seed = seed
        self.flat = flat
        self.offsets = offsets
        self.answerStarts = starts
        self.order = Array(0..<examples.count)
        self.padding = padding
        tokens = [Int32](repeating: padding, count: batchSize * longest)
        targets = [Int32](repeating: padding, count: batchSize * longest)
        mask = [Float](repeating: 0, count: batchSize * longest)
        rowExamples = [Int](repeating: -1, count: batchSize)
        shuffleForEpoch(0)
    }

    /// A batcher for `examples` of `task` (mapping unknown characters when the task does).
    public convenience init(task: any Task, examples: [Example], batchSize: Int, contextLength: Int, seed: UInt64 = 0,
                            tokenizer: any TaskTokenizer = Vocabulary()) throws {
        try self.init(taskName: task.name, examples: examples, batchSize: batchSize, contextLength: contextLength,
                      seed: seed, mapUnknown: task.mapsUnknownCharacters, tokenizer: tokenizer)
    }

    /// Number of batches that cover every example once in `fillSequential` order.
    public var sequentialBatchCount: Int { (exampleCount + batchSize - 1) / batchSize }

    /// Refills the arrays with the next B examples of the shuffled training order.
    public func nextTrainingBatch() {
        precondition(exampleCount > 0, "Batcher(\(taskName)): no examples")
        for row in 0..<batchSize {
            if cursor == exampleCount {
                epoch += 1
                cursor = 0
                shuffleForEpoch(epoch)
            }
            writeRow(row, example: order[cursor])
            cursor += 1
        }
    }

    /// Refills the arrays with examples start..<min(start + B, n) in their given order; rows
    /// past the end are padding (mask 0, `rowExamples` −1). Returns the number of real rows.
    @discardableResult
    public func fillSequential(startingAt start: Int) -> Int {
        precondition(start >= 0 && start < exampleCount, "Batcher(\(taskName)): start \(start) outside 0..<\(exampleCount)")
        let rows = min(batchSize, exampleCount - start)
        for row in 0..<batchSize { writeRow(row, example: row < rows ? start + row : -1) }
        return rows
    }

    /// Writes example `index` (or padding for −1) into row `row` of the three arrays.
    private func writeRow(_ row: Int, example index: Int) {
        let T = sequenceLength
        rowExamples[row] = index
        let start = index >= 0 ? offsets[index] : 0
        let positions = index >= 0 ? offsets[index + 1] - start - 1 : 0
        let answerStart = index >= 0 ? answerStarts[index] : 0
        flat.withUnsafeBufferPointer { s in
            tokens.withUnsafeMutableBufferPointer { x in
                targets.withUnsafeMutableBufferPointer { y in
                    mask.withUnsafeMutableBufferPointer { m in
                        let base = row * T
                        for t in 0..<positions {
                            x[base + t] = s[start + t]
                            y[base + t] = s[start + t + 1]
                            m[base + t] = t + 1 >= answerStart ? 1 : 0
                        }
                        for t in positions..<T {
                            x[base + t] = padding
                            y[base + t] = padding
                            m[base + t] = 0
                        }
                    }
                }
            }
        }
    }

    private func shuffleForEpoch(_ e: Int) {
        for i in order.indices { order[i] = i }
        var rng = SeededRNG(seed: seed).fork("epoch \(e)")
        rng.shuffle(&order)
    }
}

/// An example the batcher cannot encode, naming the task and the example.
public enum BatcherError: Error, Equatable, CustomStringConvertible, Sendable {
    case exampleTooLong(task: String, index: Int, example: Example, positions: Int, contextLength: Int)
    case characterOutsideVocabulary(task: String, index: Int, example: Example, detail: String)
    case emptyExample(task: String, index: Int, example: Example)

    public var description: String {
        switch self {
        case .exampleTooLong(let task, let index, let example, let positions, let contextLength):
            "task \(task): example \(index) \(example) needs \(positions) positions, more than the context length \(contextLength)"
        case .characterOutsideVocabulary(let task, let index, let example, let detail):
            "task \(task): example \(index) \(example): \(detail)"
        case .emptyExample(let task, let index, let example):
            "task \(task): example \(index) \(example) has no target (empty answer without end marker)"
        }
    }
}
