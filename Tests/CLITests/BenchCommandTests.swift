import ArgumentParser
import Foundation
import Testing
@testable import workbench_cli

@Suite("CLI: workbench bench")
struct BenchCommandTests {
    @Test("--references defaults to bench/references.json and takes a path")
    func referencesOption() throws {
        let plain = try #require(try WorkbenchCommand.parseAsRoot(["bench"]) as? BenchCommand)
        #expect(plain.references == "bench/references.json")
        let given = try #require(try WorkbenchCommand.parseAsRoot(["bench", "--references", "/tmp/r.json"]) as? BenchCommand)
        #expect(given.references == "/tmp/r.json")
        #expect(BenchCommand.helpMessage().contains("--references"))
    }

    @Test("a malformed references file stops bench with an error naming the file and the key")
    func malformedReferences() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bench-refs-\(UUID().uuidString).json")
        try #"{"magic": "workbench-bench-references", "version": 1, "machine": {"cpu": "x"}, "figures": [{"name": "sgemm"}]}"#
            .write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let command = try BenchCommand.parse(["--quick", "--only", "memcpy", "--references", url.path])
        let error = try #require(throws: (any Error).self) { try command.run() }
        let text = "\(error)"
        #expect(text.contains(url.path) && text.contains("figures[0].size"), "\(text)")
    }
}
