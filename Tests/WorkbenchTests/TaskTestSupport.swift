import Foundation
@testable import Workbench

/// Writes `contents` to a file in a fresh temporary folder, runs `body` with its path, and
/// removes the folder afterwards.
func withTaskDataFile<T>(_ contents: String, name: String = "data.jsonl", _ body: (String) throws -> T) throws -> T {
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("workbench-task-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent(name).path
    try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
    return try body(path)
}

/// `n` JSONL records "q<i>" → "a<i>" (every prompt distinct).
func numberedJSONL(_ n: Int) -> String {
    (0..<n).map { "{\"prompt\": \"q\($0)=\", \"completion\": \"a\($0)\"}" }.joined(separator: "\n") + "\n"
}

/// Every catalog kind that needs no data file, with the parameters used in the split tests.
let generatedTaskCases: [(kind: String, parameters: [String: TaskParameter])] = [
    ("copy", [:]),
    ("reverse", ["max_length": .int(5)]),
    ("sort_digits", [:]),
    ("addition", [:]),
    ("modular_add", ["modulus": .int(7)]),
    ("modular_add", ["modulus": .int(7), "max_operand": .int(20), "test_size": .int(100)]),
    ("grammar_lm", [:]),
    ("cipher", ["base": .string("copy"), "cipher_seed": .int(3)]),
    ("cipher", ["base": .string("addition"), "max_digits": .int(2)]),
    ("base_skills", [:]),
    ("mixture", ["kinds": .strings(["reverse", "grammar_lm"])]),
    ("facts", [:]),
    ("facts", ["key_prefix": .string("n"), "table_seed": .int(4)]),
    ("conflicting_facts", ["value_seed": .int(2)]),
]
