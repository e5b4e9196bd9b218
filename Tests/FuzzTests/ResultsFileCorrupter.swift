import Foundation

/// Damages a finished study's results (the index file and its per-cell part files): bytes
/// flipped or zeroed, files truncated, extended, emptied, removed, swapped, or replaced by a
/// folder, a FIFO or a symbolic link to itself; then reads them with every command that takes a
/// results file, and resumes the study on them.
enum ResultsFileCorrupter {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var template: URL?

    /// A finished run of the toy study, made once per test process.
    static func finishedStudy() throws -> URL {
        lock.lock()
        defer { lock.unlock() }
        if let template { return template }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("workbench-fuzz-results-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try StudyFileMutator.seeds[0].replacingOccurrences(of: "methods:\n", with: "store: {delta: dense, weights: every}\nmethods:\n")
            .write(to: folder.appendingPathComponent("study.yaml"), atomically: false, encoding: .utf8)
        let outcome = try WorkbenchProcess.run(["run", "study.yaml", "--output", "results.h5"], in: folder, timeLimit: 120)
        guard outcome.verdict == .succeeded else { throw FuzzHarnessError("the results seed study failed: \(outcome.stderrLines.suffix(2))") }
        try? FileManager.default.removeItem(at: folder.appendingPathComponent("stdout.txt"))
        try? FileManager.default.removeItem(at: folder.appendingPathComponent("stderr.txt"))
        template = folder
        return folder
    }

    /// Every non-empty regular file of the results: the index and the parts.
    static func resultFiles(in folder: URL) -> [URL] {
        var files = [folder.appendingPathComponent("results.h5")]
        if let walker = FileManager.default.enumerator(at: folder.appendingPathComponent("results.h5.d"), includingPropertiesForKeys: nil) {
            for case let url as URL in walker { files.append(url) }
        }
        return files.filter { url in
            var info = stat()
            return lstat(url.path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG && info.st_size > 0
        }.sorted { $0.path < $1.path }
    }

    static func corrupt(in folder: URL, random: inout FuzzRandom) throws -> String {
        let files = resultFiles(in: folder)
        guard !files.isEmpty else { return "no file left to damage" }
        let victim = random.pick(files)
        let name = victim.path.replacingOccurrences(of: folder.path + "/", with: "")
        var bytes = Array(try Data(contentsOf: victim))
        switch random.int(0..<100) {
        case 0..<35:
            let flips = random.pick([1, 2, 8, 64])
            for _ in 0..<flips { bytes[random.int(0..<bytes.count)] ^= UInt8(1 << random.int(0..<8)) }
            try Data(bytes).write(to: victim)
            return "\(name): \(flips) bits flipped"
        case 35..<50:
            let start = random.int(0..<bytes.count), count = min(random.pick([8, 512, 4096]), bytes.count - start)
            bytes.replaceSubrange(start..<(start + count), with: [UInt8](repeating: 0, count: count))
            try Data(bytes).write(to: victim)
            return "\(name): \(count) bytes zeroed at \(start)"
        case 50..<65:
            let length = random.int(0..<bytes.count)
            try Data(bytes[0..<length]).write(to: victim)
            return "\(name): truncated to \(length) of \(bytes.count) bytes"
        case 65..<72:
            try Data(bytes + (0..<random.int(1..<4096)).map { _ in UInt8.random(in: 0...255, using: &random) }).write(to: victim)
            return "\(name): garbage appended"
        case 72..<78:
            try Data().write(to: victim)
            return "\(name): emptied"
        case 78..<84:
            try FileManager.default.removeItem(at: victim)
            return "\(name): removed"
        case 84..<88:
            try FileManager.default.removeItem(at: victim)
            try FileManager.default.createDirectory(at: victim, withIntermediateDirectories: false)
            return "\(name): replaced by a folder"
        case 88..<92:
            try FileManager.default.removeItem(at: victim)
            mkfifo(victim.path, 0o644)
            return "\(name): replaced by a FIFO"
        case 92..<96:
            try FileManager.default.removeItem(at: victim)
            try FileManager.default.createSymbolicLink(atPath: victim.path, withDestinationPath: victim.lastPathComponent)
            return "\(name): replaced by a symbolic link to itself"
        default:
            let other = random.pick(files)
            let otherBytes = try Data(contentsOf: other)
            try otherBytes.write(to: victim)
            return "\(name): overwritten with \(other.lastPathComponent)"
        }
    }

    static func runCase(in folder: URL, random: inout FuzzRandom) throws -> [FuzzRunRecord] {
        let template = try finishedStudy()
        for item in try FileManager.default.contentsOfDirectory(atPath: template.path) {
            try FileManager.default.copyItem(at: template.appendingPathComponent(item), to: folder.appendingPathComponent(item))
        }
        var mutations = [try corrupt(in: folder, random: &random)]
        if random.chance(0.2) { mutations.append(try corrupt(in: folder, random: &random)) }
        let arguments = random.pick([
            ["inspect", "results.h5"], ["verify", "results.h5"], ["export", "results.h5", "--output", "out/tables"],
            ["forgetting", "results.h5"], ["spectrum", "results.h5", "--matrix", "attn.q"], ["lowrank", "results.h5", "--ranks", "1"],
            ["plan", "study.yaml", "--output", "results.h5"], ["run", "study.yaml", "--output", "results.h5"],
            ["report", "results.h5", "--output", "out/report.html"],
        ])
        let outcome = try WorkbenchProcess.run(arguments, in: folder, timeLimit: 30, outputFolder: folder.appendingPathComponent("out"))
        return [FuzzRunRecord(mutation: mutations.joined(separator: "; "), arguments: arguments, outcome: outcome)]
    }
}
