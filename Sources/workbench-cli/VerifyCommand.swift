import ArgumentParser
import Foundation
import Workbench

/// `workbench verify RESULTS.h5`: the study's fsck.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every file of a study: checksums, completeness, membership; exit 1 if anything is missing or damaged.")

    @Argument(help: "The study's results index (e.g. results/quickstart.h5).")
    var results: String

    func run() throws {
        let report: StudyVerification
        do {
            report = try StudyVerification.run(index: URL(fileURLWithPath: results))
        } catch {
            throw commandFailure("verify", error)
        }
        print(report.rendered())
        if let failure = report.failureSummary {
            throw commandFailure("verify", VerifyFailure(description: "\(results): \(failure)"))
        }
    }
}

/// An unsound study: `verify`'s one error line after its report.
private struct VerifyFailure: Error, CustomStringConvertible {
    let description: String
}
