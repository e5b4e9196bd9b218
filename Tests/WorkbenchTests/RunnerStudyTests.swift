import Foundation
import PEFTEngine
import Testing
@testable import Workbench

@Suite("Study runner: results file")
struct RunnerStudyTests {
    @Test("the results file has the study text, the base, every cell with R of shape (T+1)×(skills+tasks)")
    func layout() throws {
        try withTemporaryFolder { folder in
            let study = try writeStudy(tinyStudyText(), in: folder)
            let url = folder.appendingPathComponent("results.h5")
            let report = try runStudy(study, output: url)
            #expect(report.computedCells == 2 && report.skippedCells == 0 && !report.stopped)
            #expect(report.summary.map(\.label) == ["full", "lora"])

            let file = try HDF5File.open(url)
            defer { try? file.close() }
            let root = try file.root()
            #expect(try file.isComplete())
            #expect(try root.stringAttribute("study_text") == study.text)
            #expect(try root.stringAttribute("study_name") == "tiny")
            #expect(try root.hasAttribute("blas_kernel"))
            let base = try root.group("seed0/base")
            #expect(try base.readArray("loss", as: Float.self).values.count == 10)
            #expect(try base.readTensor("weights/blocks.0.attn.q.weight").shape == [16, 16])
            #expect(try base.contains("eval/skills/copy") && base.contains("eval/tasks/mod7"))
            for label in ["full", "lora"] {
                let cell = try root.group("runs/\(label)/seed0")
                #expect(try cell.stringAttribute("method") == label)
                #expect(try cell.stringAttribute("protocol") == "sequential")
                #expect(try cell.integerAttribute("trainable_parameters") > 0)
                let r = try cell.readArray("accuracy", as: Double.self)
                #expect(r.shape == [3, 4], "rows: base + 2 tasks; columns: 2 skills + 2 tasks")
                #expect(try cell.readArray("token_accuracy", as: Double.self).shape == [3, 4])
                #expect(try cell.dataset("accuracy").attribute("row_names") == .strings(["base", "rev", "mod7"]))
                #expect(try cell.dataset("accuracy").attribute("column_names") == .strings(["copy", "facts", "rev", "mod7"]))
                for t in 1...2 {
                    let after = try cell.group("after_task\(t)")
                    #expect(try after.readArray("loss", as: Float.self).values.count == 8)
                    #expect(try after.readTensor("delta/blocks.0.mlp.fc.weight").shape == [32, 16])
                    #expect(try after.group("eval/tasks/rev").doubleAttribute("exact_match") >= 0)
                }
            }
            // LoRA's trainable state is its own A and B; full fine-tuning's is every base weight.
            #expect(try root.contains("runs/lora/seed0/after_task1/trainable/method/blocks.0.attn.q.lora_A"))
            #expect(try root.contains("runs/full/seed0/after_task1/trainable/base/wte"))
            // Row 0 is the base's own evaluation in every cell.
            let baseCopy = try base.group("eval/skills/copy").doubleAttribute("exact_match")
            #expect(try root.readArray("runs/lora/seed0/accuracy", as: Double.self).values[0] == baseCopy)
        }
    }

    @Test("two runs of the same study give bit-identical accuracy matrices and ΔW")
    func determinism() throws {
        try withTemporaryFolder { folder in
            let study = try writeStudy(tinyStudyText(), in: folder)
            let a = folder.appendingPathComponent("a.h5"), b = folder.appendingPathComponent("b.h5")
            _ = try runStudy(study, output: a)
            _ = try runStudy(study, output: b)
            for cell in ["runs/full/seed0", "runs/lora/seed0"] {
                #expect(try accuracyMatrix(a, cell: cell).values == accuracyMatrix(b, cell: cell).values)
            }
            let fa = try HDF5File.open(a), fb = try HDF5File.open(b)
            defer { try? fa.close(); try? fb.close() }
            let name = "runs/lora/seed0/after_task2/delta/blocks.0.attn.q.weight"
            #expect(try fa.root().readTensor(name).storage.map(\.bitPattern) == fb.root().readTensor(name).storage.map(\.bitPattern))
        }
    }

    @Test("per-task and merge protocols store their own layouts (cumulative ΔW for merge)")
    func protocols() throws {
        try withTemporaryFolder { folder in
            let methods = "  - {method: lora, r: 2, lora_alpha: 4, protocol: per-task, label: lora-pt}\n  - {method: lora, r: 2, lora_alpha: 4, protocol: merge, label: lora-merge}\n"
            let study = try writeStudy(tinyStudyText(methods: methods), in: folder)
            let url = folder.appendingPathComponent("results.h5")
            _ = try runStudy(study, output: url)
            let file = try HDF5File.open(url)
            defer { try? file.close() }
            let root = try file.root()
            #expect(try root.group("runs").children() == ["lora-merge", "lora-pt"])
            let merge = try root.group("runs/lora-merge/seed0")
            #expect(try merge.stringAttribute("protocol") == "merge")
            // Merge: ΔW after task 2 = ΔW after task 1 + task 2's own update, so it differs from task 1's.
            let d1 = try merge.readTensor("after_task1/delta/blocks.0.attn.q.weight")
            let d2 = try merge.readTensor("after_task2/delta/blocks.0.attn.q.weight")
            #expect(d1.storage != d2.storage)
            let perTask = try root.group("runs/lora-pt/seed0")
            #expect(try perTask.stringAttribute("protocol") == "per-task")
            #expect(try perTask.readArray("accuracy", as: Double.self).shape == [3, 4])
            // Per-task: each task's module starts from the base, so task 2's ΔW is not task 1's plus more.
            #expect(try perTask.contains("after_task2/trainable/method/blocks.0.attn.q.lora_B"))
            // Task 1 is evaluated with its own module after task 2 as well: R[2, rev] = R[1, rev].
            let r = try perTask.readArray("accuracy", as: Double.self).values, t = try perTask.readArray("token_accuracy", as: Double.self).values
            let rev = 2, columns = 4
            #expect(r[2 * columns + rev] == r[1 * columns + rev])
            #expect(t[2 * columns + rev] == t[1 * columns + rev])
        }
    }

    @Test("a loss that explodes without becoming NaN (above ln V and 10× its start) counts as divergence too")
    func finiteDivergence() throws {
        try withTemporaryFolder { folder in
            let methods = "  - {method: full, lr: 30.0, label: hot}\n"
            let study = try writeStudy(tinyStudyText(methods: methods, trainingSteps: 16), in: folder)
            let url = folder.appendingPathComponent("results.h5")
            let recorder = RunRecorder()
            _ = try runStudy(study, output: url, recorder: recorder)
            let file = try HDF5File.open(url)
            defer { try? file.close() }
            let cell = try file.root().group("runs/hot/seed0")
            let losses = try cell.readArray("after_task1/loss", as: Float.self).values
            #expect(recorder.events[.diverged] == 1)
            #expect(try cell.hasAttribute("diverged_at_step"))
            #expect(losses.last!.isFinite && losses.last! > 10 * losses.first!, "finite, but exploded: \(losses)")
        }
    }

    @Test("a diverging cell records diverged_at_step and the study goes on")
    func divergence() throws {
        try withTemporaryFolder { folder in
            let methods = "  - {method: full, lr: 1.0e+30, label: exploding}\n  - {method: lora, r: 2, lora_alpha: 4}\n"
            let study = try writeStudy(tinyStudyText(methods: methods), in: folder)
            let url = folder.appendingPathComponent("results.h5")
            let recorder = RunRecorder()
            let report = try runStudy(study, output: url, recorder: recorder)
            #expect(report.computedCells == 2)
            #expect(recorder.events[.diverged] == 1)
            let file = try HDF5File.open(url)
            defer { try? file.close() }
            let cell = try file.root().group("runs/exploding/seed0")
            let at = try cell.integerAttribute("diverged_at_step")
            #expect(at >= 0 && at < 16)
            #expect(try cell.readArray("accuracy", as: Double.self).shape == [3, 4], "evaluation still fills R")
            #expect(report.summary.first { $0.label == "exploding" }?.diverged == 1)
            #expect(report.summary.first { $0.label == "lora" }?.diverged == 0)
        }
    }
}
