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

    @Test("a cell deleted from the file is recomputed identically; the others are skipped")
    func resumeAfterDeletion() throws {
        try withTemporaryFolder { folder in
            let study = try writeStudy(tinyStudyText(), in: folder)
            let url = folder.appendingPathComponent("results.h5")
            _ = try runStudy(study, output: url)
            let before = try accuracyMatrix(url, cell: "runs/lora/seed0").values
            try HDF5Transaction.update(at: url) { root in try root.remove("runs/lora/seed0") }
            let recorder = RunRecorder()
            let report = try runStudy(study, output: url, recorder: recorder)
            #expect(report.computedCells == 1 && report.skippedCells == 1)
            #expect(recorder.startedCells == ["lora seed0"])
            #expect(try accuracyMatrix(url, cell: "runs/lora/seed0").values == before)
        }
    }

    @Test("a changed study text is refused, and --force starts over")
    func changedStudyRefused() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("results.h5")
            _ = try runStudy(try writeStudy(tinyStudyText(), in: folder), output: url)
            let changed = try writeStudy(tinyStudyText(trainingSteps: 6), in: folder)
            #expect(throws: RunnerError.studyChanged(output: url.standardizedFileURL.path)) { try runStudy(changed, output: url) }
            #expect(RunnerError.studyChanged(output: "r.h5").description.contains("--force"))
            let report = try runStudy(changed, output: url, force: true)
            #expect(report.computedCells == 2)
        }
    }

    @Test("a second writer on the same output is refused with the holder's pid")
    func lockRefusal() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("results.h5")
            let holder = try OutputLock(output: url)
            defer { holder.release() }
            let study = try writeStudy(tinyStudyText(), in: folder)
            let pid = Int(ProcessInfo.processInfo.processIdentifier)
            #expect(throws: RunnerError.outputLocked(output: url.standardizedFileURL.path, pid: pid)) { try runStudy(study, output: url) }
            #expect(RunnerError.outputLocked(output: "r.h5", pid: 42).description.hasPrefix("another workbench process (pid 42) is writing r.h5"))
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
