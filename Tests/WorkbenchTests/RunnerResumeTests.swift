import Foundation
import PEFTEngine
import Testing
@testable import Workbench

@Suite("Study runner: resume, refusal, locking, bad input")
struct RunnerResumeTests {
    @Test("a run stopped after the first cell resumes to the same results without recomputing that cell")
    func resumeAfterStop() throws {
        try withTemporaryFolder { folder in
            let study = try writeStudy(tinyStudyText(), in: folder)
            let reference = folder.appendingPathComponent("reference.h5")
            _ = try runStudy(study, output: reference)

            let url = folder.appendingPathComponent("results.h5")
            let first = RunRecorder()
            first.stopAfterCell = 1
            let stopped = try runStudy(study, output: url, recorder: first)
            #expect(stopped.stopped && stopped.computedCells == 1)
            #expect(first.startedCells == ["full seed0"])

            let second = RunRecorder()
            let resumed = try runStudy(study, output: url, recorder: second)
            #expect(!resumed.stopped && resumed.computedCells == 1 && resumed.skippedCells == 1)
            #expect(second.startedCells == ["lora seed0"], "the committed cell is not recomputed")
            #expect(second.events[.baseLoaded] == 1 && second.events[.baseStarted] == nil, "the base is read back, not retrained")
            for cell in ["runs/full/seed0", "runs/lora/seed0"] {
                #expect(try accuracyMatrix(url, cell: cell).values == accuracyMatrix(reference, cell: cell).values)
            }
        }
    }

    @Test("a cell file deleted or damaged is recomputed identically; the others are skipped")
    func resumeAfterDeletion() throws {
        try withTemporaryFolder { folder in
            let study = try writeStudy(tinyStudyText(), in: folder)
            let url = folder.appendingPathComponent("results.h5")
            _ = try runStudy(study, output: url)
            let before = try accuracyMatrix(url, cell: "runs/lora/seed0").values
            let runner = try StudyRunner(study: study, output: url, runtime: RuntimeInfo.current(requested: .inherit))
            let lora = runner.plan(verify: false).cells[1]
            try FileManager.default.removeItem(at: lora.file)
            let recorder = RunRecorder()
            let report = try runStudy(study, output: url, recorder: recorder)
            #expect(report.computedCells == 1 && report.skippedCells == 1)
            #expect(recorder.startedCells == ["lora seed0"])
            #expect(try accuracyMatrix(url, cell: "runs/lora/seed0").values == before)

            // One flipped bit in the cell's raw data: found on resume, named, recomputed.
            var bytes = try Data(contentsOf: lora.file)
            bytes[bytes.count - 40] ^= 0x01
            try bytes.write(to: lora.file)
            #expect(runner.plan(verify: true).cells[1].state.word == "damaged")
            let again = try runStudy(study, output: url)
            #expect(again.computedCells == 1 && again.notes.count == 1 && again.notes[0].contains("cell 1 (lora/seed0) is damaged"))
            #expect(try accuracyMatrix(url, cell: "runs/lora/seed0").values == before)
        }
    }

    @Test("a folder where a part's file belongs is refused before any training, naming the path; nothing else changes")
    func folderInPlaceOfAPart() throws {
        try withTemporaryFolder { folder in
            let study = try writeStudy(tinyStudyText(), in: folder)
            let url = folder.appendingPathComponent("results.h5")
            _ = try runStudy(study, output: url)
            let runner = try StudyRunner(study: study, output: url, runtime: RuntimeInfo.current(requested: .inherit))
            let lora = runner.plan(verify: false).cells[1]
            try FileManager.default.removeItem(at: lora.file)
            try FileManager.default.createDirectory(at: lora.file, withIntermediateDirectories: false)
            let recorder = RunRecorder()
            #expect {
                try runStudy(study, output: url, recorder: recorder)
            } throws: { error in
                "\(error)".contains(lora.file.lastPathComponent) && "\(error)".contains("a folder stands where this part's file belongs")
            }
            #expect(recorder.startedCells.isEmpty && recorder.events.isEmpty)
        }
    }

    @Test("a changed cell is recomputed with the reason; an added method runs only the new cell")
    func changedStudyRunsOnlyWhatChanged() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("results.h5")
            _ = try runStudy(try writeStudy(tinyStudyText(), in: folder), output: url)
            // A comment and another key order change nothing.
            let reordered = tinyStudyText().replacingOccurrences(of: "{method: lora, r: 2, lora_alpha: 4}", with: "{lora_alpha: 4, r: 2, method: lora}")
            let same = try runStudy(try writeStudy("# a comment\n" + reordered, in: folder), output: url)
            #expect(same.computedCells == 0 && same.skippedCells == 2 && same.notes.isEmpty)
            // A new method: only its cell.
            let added = try runStudy(try writeStudy(tinyStudyText(methods: "  - {method: full, lr: 3.0e-4}\n  - {method: lora, r: 2, lora_alpha: 4}\n  - {method: ia3}\n"), in: folder), output: url)
            #expect(added.computedCells == 1 && added.skippedCells == 2)
            // Another learning rate for full: that cell changes, and the note says how.
            let changed = try runStudy(try writeStudy(tinyStudyText(methods: "  - {method: full, lr: 5.0e-4}\n  - {method: lora, r: 2, lora_alpha: 4}\n"), in: folder), output: url)
            #expect(changed.computedCells == 1 && changed.skippedCells == 1)
            #expect(changed.notes.count == 1 && changed.notes[0].contains("cell 0 (full/seed0) changed since it ran"), "\(changed.notes)")
            #expect(changed.notes.first?.contains("0.0003 → 0.0005") == true, "\(changed.notes)")
        }
    }

    @Test("a second process on the same part is refused with the holder's pid and host")
    func lockRefusal() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("results.h5")
            let study = try writeStudy(tinyStudyText(), in: folder)
            let runner = try StudyRunner(study: study, output: url, runtime: RuntimeInfo.current(requested: .inherit))
            let layout = runner.layout
            try FileManager.default.createDirectory(at: layout.locksFolder, withIntermediateDirectories: true)
            let base = runner.plan(verify: false).bases[0]
            let holder = try PartLock(locksFolder: layout.locksFolder, partFile: base.file, what: base.name)
            defer { holder.release() }
            do {
                _ = try runStudy(study, output: url)
                Issue.record("ran while the base was claimed")
            } catch let error as RunnerError {
                guard case .partLocked(let part, let who, _, _) = error else { Issue.record("\(error)"); return }
                #expect(part == "base 0 (seed0)" && who.contains("pid \(getpid())"))
                #expect(error.description.contains("is being computed by pid"))
            }
            #expect(!FileManager.default.fileExists(atPath: base.file.path))
        }
    }

    @Test("--cells runs only the selected cells; a missing base, an index out of range and a bad range are refused before any training")
    func selections() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("results.h5")
            let study = try writeStudy(tinyStudyText(), in: folder)
            let runner = try StudyRunner(study: study, output: url, runtime: RuntimeInfo.current(requested: .inherit))
            #expect(throws: RunnerError.baseMissing(cell: "cell 1 (lora/seed0)", base: "base 0 (seed0)")) {
                try runner.run(selection: .init(cells: [1]))
            }
            #expect(throws: RunnerError.badSelection("--cells 2: index 2 is out of range; the study has 2 cells, 0–1 (see `workbench plan`)")) {
                try StudyPlan.selection("2", count: 2)
            }
            #expect(throws: RunnerError.self) { try StudyPlan.selection("1-0", count: 2) }
            #expect(throws: RunnerError.self) { try StudyPlan.selection("slurm", count: 2, environment: [:]) }
            #expect(try StudyPlan.selection("slurm", count: 2, environment: ["SLURM_ARRAY_TASK_ID": "1"]) == [1])
            #expect(try StudyPlan.selection("0,1,0-1", count: 2) == [0, 1])

            let bases = try runner.run(selection: .init(basesOnly: true))
            #expect(bases.computedCells == 0 && bases.summary.isEmpty)
            let one = try runner.run(selection: .init(cells: [1]))
            #expect(one.computedCells == 1 && one.summary.map(\.label) == ["lora"])
            let plan = runner.plan(verify: true)
            #expect(plan.bases[0].state.isComplete && !plan.cells[0].state.isComplete && plan.cells[1].state.isComplete)
        }
    }

    @Test("an output through a symlink is the same study; a dangling symlink, a folder and a read-only index are refused")
    func outputPaths() throws {
        try withTemporaryFolder { folder in
            let study = try writeStudy(tinyStudyText(), in: folder)
            let real = folder.appendingPathComponent("real/res.h5")
            try FileManager.default.createDirectory(at: real.deletingLastPathComponent(), withIntermediateDirectories: true)
            _ = try runStudy(study, output: real)
            let link = folder.appendingPathComponent("link.h5")
            try FileManager.default.createSymbolicLink(at: link, withDestinationURL: real)
            let viaLink = try runStudy(study, output: link)
            #expect(viaLink.computedCells == 0 && viaLink.skippedCells == 2, "the link's study is the target's")

            let dangling = folder.appendingPathComponent("dangling.h5")
            try FileManager.default.createSymbolicLink(atPath: dangling.path, withDestinationPath: folder.appendingPathComponent("nowhere/x.h5").path)
            #expect(throws: RunnerError.self) { try runStudy(study, output: dangling) }
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dangling.path).hasSuffix("nowhere/x.h5"), "the link is left alone")

            #expect(throws: RunnerError.self) { try runStudy(study, output: folder) }

            try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: real.path)
            do {
                _ = try runStudy(study, output: real)
                Issue.record("wrote into a read-only index")
            } catch let error as RunnerError {
                #expect(error.description.contains("read-only (mode 444)"))
            }
        }
    }

    @Test("an unknown task kind is reported with the task's key path and line before any training")
    func unknownTaskKind() throws {
        try withTemporaryFolder { folder in
            let text = tinyStudyText().replacingOccurrences(of: "kind: modular_add, modulus: 7, max_operand: 20", with: "kind: modular_addd")
            let study = try writeStudy(text, in: folder)
            do {
                _ = try StudyRunner(study: study, runtime: RuntimeInfo.current(requested: .inherit))
                Issue.record("an unknown kind must be rejected")
            } catch let error as StudyError {
                #expect(error.keyPath == "tasks[1].kind")
                #expect(error.line == 11)
                #expect(error.column == 24, "the column of the kind's value")
                #expect(error.description.hasPrefix(study.file + ":11:24: tasks[1].kind: unknown task kind"))
                #expect(error.description.contains("unknown task kind \"modular_addd\""))
            }
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("results.h5").path))
        }
    }

    @Test("a missing user data file is reported at the task's path key and line before any training")
    func missingDataFile() throws {
        try withTemporaryFolder { folder in
            let missing = folder.appendingPathComponent("no-such-records.jsonl").path
            let text = tinyStudyText().replacingOccurrences(of: "kind: modular_add, modulus: 7, max_operand: 20", with: "kind: jsonl, path: \(missing)")
            let study = try writeStudy(text, in: folder)
            do {
                _ = try StudyRunner(study: study, runtime: RuntimeInfo.current(requested: .inherit))
                Issue.record("a missing data file must be rejected")
            } catch let error as StudyError {
                #expect(error.keyPath == "tasks[1].path" && error.line == 11, "\(error)")
                #expect(error.description.hasPrefix(study.file + ":11:"), "\(error)")
                #expect(error.description.contains("tasks[1].path: data file \(missing): cannot read file"), "\(error)")
            }
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("results.h5").path))
        }
    }

    @Test("protocol merge with a method that cannot merge is a study error naming the entry")
    func mergeNeedsMergeableMethod() throws {
        try withTemporaryFolder { folder in
            let study = try writeStudy(tinyStudyText(methods: "  - {method: prompt, num_virtual_tokens: 4, protocol: merge}\n"), in: folder)
            #expect {
                _ = try StudyRunner(study: study, runtime: RuntimeInfo.current(requested: .inherit))
            } throws: { error in
                guard let error = error as? StudyError else { return false }
                return error.keyPath == "methods[0].protocol" && error.message.contains("prompt cannot be merged")
            }
        }
    }
}
