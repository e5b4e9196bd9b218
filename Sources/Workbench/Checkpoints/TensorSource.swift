import PEFTEngine

/// Something that holds named tensors and reads them one at a time as Float32.
///
/// `SafetensorsFile` and `CheckpointSet` conform, so a command can list, describe and stream
/// the tensors of a single file or a sharded checkpoint the same way. Reading returns a fresh
/// `Tensor`; nothing else stays in memory between calls (the files are memory-mapped).
public protocol TensorSource {
    /// Every tensor name, sorted.
    var names: [String] { get }
    /// dtype, shape and byte range of `name`, without reading its data.
    func info(_ name: String) throws -> SafetensorsTensorInfo
    /// The tensor `name` converted to Float32, in its stored shape.
    func tensor(named name: String) throws -> Tensor
}
