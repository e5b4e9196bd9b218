import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// Checkpoints as one file, a folder with model.safetensors, or shards with an index.
@Suite("Checkpoint sets")
struct CheckpointSetTests {
    static let sharded = CheckpointFixtures.path("sharded")
    static let shardNames = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]

    @Test func shardedCheckpointListsEveryMappedName() throws {
        let set = try CheckpointSet(path: Self.sharded)
        #expect(set.names == ["embed.weight", "head.bias", "layer0.weight", "layer1.weight"])
        #expect(set.files.map { URL(fileURLWithPath: $0.path).lastPathComponent } == Self.shardNames)
        #expect(set.metadata["total_size"] == String((12 + 6 + 6 + 2) * 4))
    }

    @Test func shardedCheckpointReadsEachTensorFromItsShard() throws {
        let set = try CheckpointSet(path: Self.sharded)
        #expect(try set.tensor(named: "embed.weight") == Tensor(shape: [4, 3], storage: (0..<12).map(Float.init)))
        #expect(try set.tensor(named: "layer0.weight") == Tensor(shape: [2, 3], storage: (0..<6).map { Float($0) * 0.5 }))
        #expect(try set.tensor(named: "layer1.weight") == Tensor(shape: [3, 2], storage: (0..<6).map { -Float($0) }))
        #expect(try set.tensor(named: "head.bias") == Tensor(shape: [2], storage: [1.5, -1.5]))
        #expect(try set.info("layer1.weight").dtype == .f32)
        #expect(URL(fileURLWithPath: try set.file(holding: "head.bias").path).lastPathComponent == Self.shardNames[1])
    }

    @Test func singleFileAndFolderWithModelSafetensors() throws {
        let folder = try CheckpointSet(path: CheckpointFixtures.path("lora_base"))
        let file = try CheckpointSet(path: CheckpointFixtures.path("lora_base/model.safetensors"))
        #expect(folder.names == file.names)
        #expect(folder.names.contains("model.layers.0.self_attn.q_proj.weight"))
        for name in folder.names { #expect(try folder.tensor(named: name) == file.tensor(named: name)) }
    }

    /// Copies the sharded fixture into `folder`, replacing the index with `index` when given.
    static func copySharded(to folder: URL, shards: [String] = shardNames, index: String? = nil) throws {
        for shard in shards {
            try FileManager.default.copyItem(
                atPath: Self.sharded + "/" + shard, toPath: folder.appendingPathComponent(shard).path)
        }
        let indexURL = folder.appendingPathComponent(CheckpointSet.indexFileName)
        if let index {
            try Data(index.utf8).write(to: indexURL)
        } else {
            try FileManager.default.copyItem(atPath: Self.sharded + "/" + CheckpointSet.indexFileName, toPath: indexURL.path)
        }
    }

    @Test func missingShardIsNamed() throws {
        try withTemporaryFolder { folder in
            try Self.copySharded(to: folder, shards: [Self.shardNames[0]])
            let error = checkpointError { _ = try CheckpointSet(path: folder.path) }
            #expect(error == .missingShard(
                index: folder.appendingPathComponent(CheckpointSet.indexFileName).path,
                shard: Self.shardNames[1], tensor: "head.bias"))
        }
    }

    @Test func mappedNameAbsentFromItsShardIsNamed() throws {
        try withTemporaryFolder { folder in
            let index = #"{"metadata":{},"weight_map":{"embed.weight":"\#(Self.shardNames[0])","ghost.weight":"\#(Self.shardNames[1])"}}"#
            try Self.copySharded(to: folder, index: index)
            let error = checkpointError { _ = try CheckpointSet(path: folder.path) }
            #expect(error == .tensorNotInShard(
                index: folder.appendingPathComponent(CheckpointSet.indexFileName).path,
                shard: Self.shardNames[1], tensor: "ghost.weight"))
        }
    }

    @Test func indexWithoutWeightMapIsRejected() throws {
        try withTemporaryFolder { folder in
            try Self.copySharded(to: folder, index: #"{"metadata":{}}"#)
            guard case .invalidIndex = checkpointError({ _ = try CheckpointSet(path: folder.path) }) else {
                Issue.record("expected invalidIndex"); return
            }
        }
    }

    @Test func folderWithoutCheckpointIsRejected() throws {
        try withTemporaryFolder { folder in
            guard case .noCheckpoint(let f, _) = checkpointError({ _ = try CheckpointSet(path: folder.path) }) else {
                Issue.record("expected noCheckpoint"); return
            }
            #expect(f == folder.path)
        }
    }

    @Test func unknownNameIsAnError() throws {
        let set = try CheckpointSet(path: Self.sharded)
        #expect(checkpointError { _ = try set.tensor(named: "nope") } == .tensorNotFound(path: Self.sharded, tensor: "nope"))
    }
}
