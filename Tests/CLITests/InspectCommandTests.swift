import ArgumentParser
import Foundation
import Testing
@testable import workbench_cli

@Suite("CLI: workbench inspect")
struct InspectCommandTests {
    @Test("inspect is a subcommand taking one FILE argument")
    func parsing() throws {
        let command = try WorkbenchCommand.parseAsRoot(["inspect", "results.h5"])
        let inspect = try #require(command as? InspectCommand)
        #expect(inspect.file == "results.h5")
        #expect(InspectCommand.helpMessage().contains("FILE") || InspectCommand.helpMessage().contains("<file>"))
    }

    @Test("A file that is not HDF5 makes inspect exit with code 1")
    func unreadableFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("inspect-\(UUID().uuidString).txt")
        try "plain text\n".write(to: url, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let command = try InspectCommand.parse([url.path])
        let exit = try #require(throws: ExitCode.self) { try command.run() }
        #expect(exit == ExitCode(1))
    }
}
