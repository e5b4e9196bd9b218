/// Everything that can go wrong reading safetensors files, sharded checkpoints and peft
/// adapters. Every case names the file and, where there is one, the tensor, key or module.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    /// No file or folder at `path`.
    case missingFile(path: String)
    /// The file exists but could not be opened or mapped.
    case unreadable(path: String, detail: String)
    /// The file ends before what its header declares (`needed` bytes, `actual` present).
    case truncated(path: String, needed: Int, actual: Int)
    /// The 8-byte header length exceeds the reader's bound (`limit`).
    case headerTooLarge(path: String, length: UInt64, limit: Int)
    /// The header length is larger than the bytes that follow it: the header lies about its length.
    case headerLengthExceedsFile(path: String, length: UInt64, available: Int)
    /// The header bytes are not valid UTF-8.
    case headerNotUTF8(path: String)
    /// The header is not a JSON object.
    case invalidJSON(path: String, detail: String)
    /// A tensor entry lacks a field or has one of the wrong type.
    case invalidEntry(path: String, tensor: String, detail: String)
    /// A dtype string the safetensors format does not define.
    case unknownDType(path: String, tensor: String, dtype: String)
    /// A `__metadata__` value (or the object itself) that is not a string.
    case invalidMetadata(path: String, key: String, detail: String)
    /// `tensor`'s byte range starts before the end of `previous`'s.
    case overlappingOffsets(path: String, tensor: String, previous: String, begin: Int, previousEnd: Int)
    /// Unused bytes before `tensor`'s range (`expected` is where it should begin).
    case gapInData(path: String, tensor: String, begin: Int, expected: Int)
    /// `end − begin` differs from product(shape) × dtype size.
    case wrongByteCount(path: String, tensor: String, dtype: String, shape: [Int], expected: Int, actual: Int)
    /// Bytes after the last tensor's end (the reference reader rejects these too).
    case trailingBytes(path: String, dataEnd: Int, dataSize: Int)
    /// The tensor's dtype parses but the workbench does not convert it.
    case unsupportedDType(path: String, tensor: String, dtype: String)
    /// No tensor with this name.
    case tensorNotFound(path: String, tensor: String)
    /// `model.safetensors.index.json` is malformed.
    case invalidIndex(path: String, detail: String)
    /// The index maps `tensor` to `shard`, which does not exist.
    case missingShard(index: String, shard: String, tensor: String)
    /// The index maps `tensor` to `shard`, whose header does not list it.
    case tensorNotInShard(index: String, shard: String, tensor: String)
    /// A folder with no checkpoint the workbench recognises.
    case noCheckpoint(folder: String, detail: String)
    /// An adapter folder holding only a pickled `adapter_model.bin`.
    case pickleRefused(path: String)
    /// `adapter_config.json` is missing a field, has one of the wrong type, or is not LoRA.
    case invalidAdapterConfig(path: String, key: String, detail: String)
    /// A LoRA module whose factors are missing, misshaped or disagree with the config.
    case invalidLoRAModule(path: String, module: String, detail: String)
    /// Writing a safetensors file failed.
    case writeFailed(path: String, detail: String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "\(path): no such file or folder"
        case .unreadable(let path, let detail):
            return "\(path): cannot read: \(detail)"
        case .truncated(let path, let needed, let actual):
            return "\(path): truncated file: needs \(needed) bytes, has \(actual)"
        case .headerTooLarge(let path, let length, let limit):
            return "\(path): not a safetensors file (its first 8 bytes give a header length of \(length), over the limit of \(limit) bytes)"
        case .headerLengthExceedsFile(let path, let length, let available):
            return "\(path): header length \(length) is larger than the \(available) bytes after the length field"
        case .headerNotUTF8(let path):
            return "\(path): header is not valid UTF-8"
        case .invalidJSON(let path, let detail):
            return "\(path): header is not a JSON object: \(detail)"
        case .invalidEntry(let path, let tensor, let detail):
            return "\(path): tensor '\(tensor)': \(detail)"
        case .unknownDType(let path, let tensor, let dtype):
            return "\(path): tensor '\(tensor)': unknown dtype '\(dtype)'"
        case .invalidMetadata(let path, let key, let detail):
            return "\(path): __metadata__ key '\(key)': \(detail)"
        case .overlappingOffsets(let path, let tensor, let previous, let begin, let previousEnd):
            return "\(path): tensor '\(tensor)' begins at byte \(begin), inside '\(previous)' (ends at \(previousEnd)): overlapping offsets"
        case .gapInData(let path, let tensor, let begin, let expected):
            return "\(path): tensor '\(tensor)' begins at byte \(begin), leaving a gap after byte \(expected)"
        case .wrongByteCount(let path, let tensor, let dtype, let shape, let expected, let actual):
            return "\(path): tensor '\(tensor)' (\(dtype) \(shape)) needs \(expected) bytes, its offsets span \(actual)"
        case .trailingBytes(let path, let dataEnd, let dataSize):
            return "\(path): tensors end at data byte \(dataEnd) but the data section has \(dataSize) bytes"
        case .unsupportedDType(let path, let tensor, let dtype):
            return "unsupported dtype \(dtype) for tensor '\(tensor)' in \(path); the workbench reads F32, F16 and BF16"
        case .tensorNotFound(let path, let tensor):
            return "\(path): no tensor named '\(tensor)'"
        case .invalidIndex(let path, let detail):
            return "\(path): invalid index: \(detail)"
        case .missingShard(let index, let shard, let tensor):
            return "\(index): shard '\(shard)' (holding '\(tensor)') does not exist"
        case .tensorNotInShard(let index, let shard, let tensor):
            return "\(index): tensor '\(tensor)' is mapped to shard '\(shard)', which does not contain it"
        case .noCheckpoint(let folder, let detail):
            return "\(folder): no checkpoint found: \(detail)"
        case .pickleRefused(let path):
            return "\(path): adapter_model.bin is a Python pickle; the workbench does not execute pickles — "
                + "convert it with safetensors' convert script or save with safe_serialization=True"
        case .invalidAdapterConfig(let path, let key, let detail):
            return "\(path): '\(key)': \(detail)"
        case .invalidLoRAModule(let path, let module, let detail):
            return "\(path): module '\(module)': \(detail)"
        case .writeFailed(let path, let detail):
            return "\(path): cannot write: \(detail)"
        }
    }
}
