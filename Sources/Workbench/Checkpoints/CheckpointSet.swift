import Foundation
import PEFTEngine

/// A checkpoint given as one safetensors file or as a folder, read one tensor at a time.
///
/// Accepted layouts (Hugging Face's conventions):
/// - a path to a `.safetensors` file;
/// - a folder holding `model.safetensors.index.json`: {"metadata": {...}, "weight_map":
///   {tensor name: shard file name}}; every shard must exist and list every name mapped to it
///   (checked on open). Shard tensors absent from the weight map are not listed, as in
///   transformers' loader;
/// - a folder holding `model.safetensors`.
///
/// Shards are memory-mapped, so opening reads only headers and `tensor(named:)` holds one
/// tensor in memory at a time.
public final class CheckpointSet: TensorSource, @unchecked Sendable {
    public static let indexFileName = "model.safetensors.index.json"
    public static let singleFileName = "model.safetensors"

    /// The path given to `init`.
    public let path: String
    /// Every tensor name, sorted.
    public let names: [String]
    /// The index's "metadata" values as text (integers such as total_size printed), or the
    /// single file's `__metadata__`.
    public let metadata: [String: String]
    /// The safetensors files, in shard-name order.
    public var files: [SafetensorsFile] { shards.keys.sorted().map { shards[$0]! } }

    private let shards: [String: SafetensorsFile]
    private let location: [String: String]

    /// Opens a file or a folder as described above.
    public init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CheckpointError.missingFile(path: path)
        }
        guard isDirectory.boolValue else {
            let file = try SafetensorsFile(path: path)
            shards = [path: file]
            location = Dictionary(uniqueKeysWithValues: file.names.map { ($0, path) })
            names = file.names
            metadata = file.metadata
            return
        }
        let folder = URL(fileURLWithPath: path)
        let index = folder.appendingPathComponent(Self.indexFileName).path
        let single = folder.appendingPathComponent(Self.singleFileName).path
        if FileManager.default.fileExists(atPath: index) {
            let (weightMap, indexMetadata) = try Self.readIndex(index)
            var shards: [String: SafetensorsFile] = [:]
            for (name, shard) in weightMap.sorted(by: { $0.key < $1.key }) {
                if shards[shard] == nil {
                    let shardPath = folder.appendingPathComponent(shard).path
                    guard FileManager.default.fileExists(atPath: shardPath) else {
                        throw CheckpointError.missingShard(index: index, shard: shard, tensor: name)
                    }
                    shards[shard] = try SafetensorsFile(path: shardPath)
                }
                guard shards[shard]!.contains(name) else {
                    throw CheckpointError.tensorNotInShard(index: index, shard: shard, tensor: name)
                }
            }
            self.shards = shards
            location = weightMap
            names = weightMap.keys.sorted()
            metadata = indexMetadata
        } else if FileManager.default.fileExists(atPath: single) {
            let file = try SafetensorsFile(path: single)
            shards = [Self.singleFileName: file]
            location = Dictionary(uniqueKeysWithValues: file.names.map { ($0, Self.singleFileName) })
            names = file.names
            metadata = file.metadata
        } else {
            throw CheckpointError.noCheckpoint(
                folder: path, detail: "neither \(Self.indexFileName) nor \(Self.singleFileName) is present")
        }
    }

    /// The file holding `name`.
    public func file(holding name: String) throws -> SafetensorsFile {
        guard let shard = location[name] else { throw CheckpointError.tensorNotFound(path: path, tensor: name) }
        return shards[shard]!
    }

    public func info(_ name: String) throws -> SafetensorsTensorInfo {
        try file(holding: name).info(name)
    }

    public func tensor(named name: String) throws -> Tensor {
        try file(holding: name).tensor(named: name)
    }

    /// weight_map and metadata of an index file; errors name the index and the key.
    private static func readIndex(_ index: String) throws -> (weightMap: [String: String], metadata: [String: String]) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: index)) } catch {
            throw CheckpointError.unreadable(path: index, detail: "\(error.localizedDescription)")
        }
        let root: [String: CheckpointJSON]
        do {
            guard let object = try CheckpointJSON.parse(data).objectValue else {
                throw CheckpointError.invalidIndex(path: index, detail: "top level is not a JSON object")
            }
            root = object
        } catch let error as CheckpointError { throw error } catch {
            throw CheckpointError.invalidIndex(path: index, detail: "invalid JSON: \(error)")
        }
        guard let mapValues = root["weight_map"]?.objectValue else {
            throw CheckpointError.invalidIndex(path: index, detail: "'weight_map' is missing or not an object")
        }
        var weightMap: [String: String] = [:]
        for (name, value) in mapValues {
            guard let shard = value.stringValue else {
                throw CheckpointError.invalidIndex(path: index, detail: "weight_map['\(name)'] is \(value.typeName), not a file name")
            }
            guard !shard.contains("/"), shard != "..", !shard.isEmpty else {
                throw CheckpointError.invalidIndex(path: index, detail: "weight_map['\(name)'] = '\(shard)' is not a file in the folder")
            }
            weightMap[name] = shard
        }
        var metadata: [String: String] = [:]
        for (key, value) in root["metadata"]?.objectValue ?? [:] {
            switch value {
            case .string(let s): metadata[key] = s
            case .integer(let i): metadata[key] = String(i)
            case .number(let d): metadata[key] = String(d)
            case .bool(let b): metadata[key] = String(b)
            default: continue
            }
        }
        return (weightMap, metadata)
    }
}
