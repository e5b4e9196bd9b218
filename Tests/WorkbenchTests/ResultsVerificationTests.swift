import Foundation
import Testing
@testable import Workbench

/// `workbench verify`: every part checked, damage and strays named, and the plan as text and JSON.
@Suite("Results: verify and plan")
struct ResultsVerificationTests {
    @Test("a complete study is sound; a flipped bit, a missing cell and a stray file are each named")
    func verify() throws {
        try withTemporaryFolder { folder in
            let study = try writeStudy(tinyStudyText(), in: folder)
            let url = folder.appendingPathComponent("results.h5")
            _ = try runStudy(study, output: url)
            let sound = try StudyVerification.run(index: url)
            #expect(sound.isSound && sound.cellsComplete == 2 && sound.basesComplete == 1 && sound.strays.isEmpty)
            #expect(sound.rendered().hasSuffix("sound: every part is complete and intact"))

            let runner = try StudyRunner(study: study, output: url, runtime: .current(requested: .inherit))
            let plan = runner.plan(verify: false)
            var bytes = try Data(contentsOf: plan.cells[0].file)
            bytes[bytes.count / 2] ^= 0x80
            try bytes.write(to: plan.cells[0].file)
            try FileManager.default.removeItem(at: plan.cells[1].file)
            try Data("left over".utf8).write(to: runner.layout.cellsFolder.appendingPathComponent("old-cell.h5"))
            let report = try StudyVerification.run(index: url)
            #expect(!report.isSound && report.cellsComplete == 0)
            #expect(report.problems.map(\.state) == ["damaged", "missing"])
            #expect(report.problems[0].part == "cell 0 (full/seed0)" && report.problems[0].detail.contains("checksum"))
            #expect(report.strays == ["results.h5.d/cells/old-cell.h5"])
            #expect(report.failureSummary?.contains("NOT sound: 2 part(s) missing or damaged") == true)

            // The plan says the same, as text and as JSON.
            let checked = runner.plan(verify: true)
            #expect(checked.cells.map(\.state.word) == ["damaged", "missing"])
            #expect(checked.rendered().contains("0     0     damaged   full / seed0"))
            let json = try #require(try JSONSerialization.jsonObject(with: Data(checked.json().utf8)) as? [String: Any])
            let cells = try #require(json["cells"] as? [[String: Any]])
            #expect(cells.map { $0["state"] as? String } == ["damaged", "missing"] && cells[0]["path"] as? String == "/runs/full/seed0")

            // A damaged index is one error naming it, before HDF5 reads it.
            var index = try Data(contentsOf: url)
            index[index.count - 10] ^= 0x01
            try index.write(to: url)
            #expect(throws: AnalysisError.self) { try StudyVerification.run(index: url) }
        }
    }
}
