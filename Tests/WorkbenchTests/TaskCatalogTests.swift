import Testing
@testable import Workbench

/// `TaskCatalog.make`: kinds, parameters and the errors that name them.
@Suite struct TaskCatalogTests {
    func error(_ kind: String, _ parameters: [String: TaskParameter]) -> TaskCatalogError? {
        do {
            _ = try TaskCatalog.make(kind: kind, parameters: parameters)
            return nil
        } catch let e as TaskCatalogError {
            return e
        } catch {
            Issue.record("unexpected \(error)")
            return nil
        }
    }

    @Test func buildsTheRequestedTaskWithItsParameters() throws {
        let modular = try #require(try TaskCatalog.make(kind: "modular_add", parameters: ["modulus": .int(7)]) as? ModularAdditionTask)
        #expect(modular.modulus == 7 && modular.maxOperand == 99 && modular.kind == "modular_add")
        let copy = try #require(try TaskCatalog.make(kind: "copy", parameters: ["min_length": .int(2), "max_length": .int(4), "test_size": .int(50)]) as? CopyTask)
        #expect(copy.lengths == 2...4 && copy.testSize == 50)
        let cipher = try #require(try TaskCatalog.make(kind: "cipher", parameters: ["base": .string("sort_digits"), "max_length": .int(5)]) as? CipherTask)
        #expect((cipher.base as? SortDigitsTask)?.lengths == 2...5)
        let conflicting = try #require(try TaskCatalog.make(kind: "conflicting_facts", parameters: ["value_seed": .int(9)]) as? FactTask)
        #expect(conflicting.table == FactTable.conflicting(with: FactTable(valueSeed: 1), valueSeed: 9))
        #expect(try TaskCatalog.make(kind: "base_skills", parameters: [:]) is MixtureTask)
    }

    @Test func everyListedKindBuildsWithDefaultsOrNamesItsRequiredParameter() throws {
        for kind in TaskCatalog.kinds {
            do {
                let task = try TaskCatalog.make(kind: kind, parameters: [:])
                #expect(task.kind == kind || kind == "base_skills", "\(kind) built \(task.kind)")
            } catch let e as TaskCatalogError {
                guard case .missingParameter(let k, _) = e else { Issue.record("\(kind): \(e)"); continue }
                #expect(k == kind)
            }
        }
    }

    @Test func unknownKindListsTheKnownOnes() {
        let e = error("modular_mul", [:])
        #expect(e == .unknownKind(kind: "modular_mul", known: TaskCatalog.kinds))
        #expect(e?.description.contains("modular_add") == true)
    }

    @Test func unknownParameterIsNamedWithTheAllowedOnes() {
        let e = error("modular_add", ["modulus": .int(7), "modulo": .int(3)])
        #expect(e == .unknownParameter(kind: "modular_add", parameter: "modulo", allowed: ["max_operand", "modulus", "test_size"]))
        #expect(e?.description == "task \"modular_add\": unknown parameter \"modulo\"; allowed: max_operand, modulus, test_size")
    }

    @Test func wrongTypesMissingAndOutOfRangeValuesAreNamed() {
        #expect(error("modular_add", ["modulus": .string("7")]) == .wrongType(kind: "modular_add", parameter: "modulus", expected: "integer", got: "string"))
        #expect(error("modular_add", [:]) == .missingParameter(kind: "modular_add", parameter: "modulus"))
        #expect(error("modular_add", ["modulus": .int(0)]) == .invalidValue(kind: "modular_add", parameter: "modulus", reason: "must be in 1…1000000, got 0"))
        #expect(error("copy", ["min_length": .int(5), "max_length": .int(3)]) != nil)
        #expect(error("conflicting_facts", ["value_seed": .int(1)]) == .invalidValue(kind: "conflicting_facts", parameter: "value_seed", reason: "must differ from table_seed (1)"))
        #expect(error("jsonl", ["path": .bool(true)]) == .wrongType(kind: "jsonl", parameter: "path", expected: "string", got: "boolean"))
    }

    @Test func testSizeLargerThanHalfThePromptSpaceIsRejected() {
        // max_operand 9 gives 100 distinct prompts.
        let e = error("modular_add", ["modulus": .int(5), "max_operand": .int(9)])
        guard case .invalidValue(_, "test_size", let reason)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(reason.contains("100 distinct prompts"))
        #expect(error("modular_add", ["modulus": .int(5), "max_operand": .int(9), "test_size": .int(50)]) == nil)
    }

    @Test func dataFilePathsResolveAgainstTheGivenFolder() throws {
        try withTaskDataFile(numberedJSONL(200), name: "records.jsonl") { path in
            let folder = String(path.dropLast("/records.jsonl".count))
            let task = try TaskCatalog.make(kind: "jsonl", parameters: ["path": .string("records.jsonl")], relativeTo: folder)
            #expect((task as? JSONLTask)?.file == path)
        }
    }
}
