import ArgumentParser
import Foundation
import Workbench

/// `workbench inspect FILE`: the tree of any HDF5 file — groups, datasets with shape, dtype,
/// chunking and compression, and every attribute with its value.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print the groups, datasets (shape, dtype, chunking, compression) and attributes of an HDF5 file.")

    @Argument(help: "The HDF5 file to inspect.")
    var file: String

    func run() throws {
        let url = URL(fileURLWithPath: file)
        let tree: HDF5Node
        do {
            tree = try HDF5Inspector.inspect(url)
        } catch {
            let line = "workbench inspect: cannot read \(file): \(error)"
            FileHandle.standardError.write(Data((line.replacingOccurrences(of: "\n", with: " ") + "\n").utf8))
            throw ExitCode(1)
        }
        print(url.path)
        print(HDF5Inspector.render(tree), terminator: "")
    }
}
