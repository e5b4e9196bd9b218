import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// docs/study-files.md is the reference of every key a study file may hold: it must list exactly
/// what the parser accepts, section by section.
@Suite("docs/study-files.md documents every key the parser accepts")
struct StudyReferenceTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Section heading → the backticked keys in the first column of its tables.
    static func documentedKeys() throws -> [String: Set<String>] {
        let text = try String(contentsOf: root.appendingPathComponent("docs/study-files.md"), encoding: .utf8)
        var sections: [String: Set<String>] = [:]
        var current = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("## ") || line.hasPrefix("### ") {
                current = line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "`", with: "")
                sections[current] = sections[current] ?? []
            } else if line.hasPrefix("| `"), let end = line.dropFirst(3).firstIndex(of: "`") {
                sections[current, default: []].insert(String(line[line.index(line.startIndex, offsetBy: 3)..<end]))
            }
        }
        return sections
    }

    /// What the parser accepts, under the same section names.
    static func acceptedKeys() -> [String: Set<String>] {
        var accepted: [String: Set<String>] = [
            "Top level": Set(StudyParser.rootKeys),
            "model": Set(ModelShape.keys),
            "base": Set(BaseModelSpec.keys),
            "training": Set(TrainingSettings.keys),
            "evaluation": Set(EvaluationSettings.keys),
            "tasks": Set(["kind", "name", "chat"] + TrainingOverrides.keys),
            "methods": Set(MethodEntryParser.commonKeys),
            "store": Set(StorePolicy.keys),
        ]
        for (kind, parameters) in TaskCatalog.parameterNames { accepted["kind: \(kind)"] = Set(parameters) }
        for type in MethodRegistry.configurations {
            let name = type.methodName
            accepted["method: \(name)"] = Set(PromptInitText.applies(to: name) ? PromptInitText.studyFieldNames(type.fieldNames) : type.fieldNames)
        }
        return accepted
    }

    @Test("every section of keys the parser accepts is documented, key for key — and nothing more")
    func everyKeyDocumented() throws {
        let documented = try Self.documentedKeys()
        for (section, keys) in Self.acceptedKeys().sorted(by: { $0.key < $1.key }) {
            let listed = try #require(documented[section], "docs/study-files.md has no section \"\(section)\"")
            #expect(keys.subtracting(listed).isEmpty, "\(section): accepted but not documented: \(keys.subtracting(listed).sorted())")
            #expect(listed.subtracting(keys).isEmpty, "\(section): documented but refused by the parser: \(listed.subtracting(keys).sorted())")
        }
    }

    @Test("the two example studies in the reference parse")
    func examplesParse() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("docs/study-files.md"), encoding: .utf8)
        let blocks = text.components(separatedBy: "```yaml\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        #expect(blocks.count == 2)
        try withTemporaryFolder { folder in
            let toy = folder.appendingPathComponent("toy.yaml")
            try blocks[0].write(to: toy, atomically: true, encoding: .utf8)
            let study = try Study.load(contentsOf: toy.path, workingDirectory: folder.path)
            #expect(study.runs.map(\.label) == ["full", "lora"])
            if RealData.modelCached {
                let real = folder.appendingPathComponent("real.yaml")
                try blocks[1].write(to: real, atomically: true, encoding: .utf8)
                #expect(try Study.load(contentsOf: real.path, workingDirectory: folder.path).runs.count == 2)
            }
        }
    }
}
