/// Bytes a fine-tuning method needs, by role (Float32 = 4 bytes; quantized bases count their
/// packed codes and constants).
public struct MemoryReport: Equatable, Sendable, Codable {
    /// Trainable parameters (base views that require grad + the method's own tensors).
    public var trainableParameters: Int
    public var trainableBytes: Int
    /// Gradients of the trainable parameters (one Float32 each).
    public var gradientBytes: Int
    /// AdamW's two moments (two Float32 per trainable parameter).
    public var optimizerStateBytes: Int
    /// Frozen weights as the method stores them (NF4 for QLoRA's quantized matrices).
    public var frozenBytes: Int

    public init(trainableParameters: Int, frozenBytes: Int) {
        self.trainableParameters = trainableParameters
        trainableBytes = 4 * trainableParameters
        gradientBytes = 4 * trainableParameters
        optimizerStateBytes = 8 * trainableParameters
        self.frozenBytes = frozenBytes
    }

    public var totalBytes: Int { trainableBytes + gradientBytes + optimizerStateBytes + frozenBytes }
}
