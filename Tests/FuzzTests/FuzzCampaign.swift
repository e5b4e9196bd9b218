import Foundation

/// One run of `workbench` within a case: what was mutated, the command, and how it ended.
struct FuzzRunRecord {
    let mutation: String
    let arguments: [String]
    let outcome: FuzzOutcome
}

/// The counts of one campaign by verdict, and the failing cases kept for reproduction.
struct FuzzTally {
    let kind: String
    var cases = 0
    var runs = 0
    var counts: [FuzzVerdict: Int] = [:]
    var failures: [String] = []
    var slowest = 0.0

    var failureCount: Int { counts.filter { $0.key.isFailure }.values.reduce(0, +) }

    /// `fuzz study: 120 cases, 131 runs: 80 refused (one line), 40 succeeded, … 0 crashed, 0 hung`.
    var summary: String {
        let parts = FuzzVerdict.allCases.map { "\(counts[$0, default: 0]) \($0.rawValue)" }
        return "fuzz \(kind): \(cases) cases, \(runs) runs: " + parts.joined(separator: ", ") + String(format: "; slowest run %.1f s", slowest)
    }
}

/// A campaign: `cases` fuzzed inputs of one kind, each built and run in a fresh folder by the
/// caller's body from a case seed derived from the campaign seed and the case's index.
///
/// `WORKBENCH_FUZZ_CASES` sets the number of cases (default: the bounded run of `make test`),
/// `WORKBENCH_FUZZ_SEED` the campaign seed (default fixed, so CI runs the same cases every time).
/// A failing case's folder (inputs, stderr, `command.txt`) is kept under
/// `.build/fuzz-failures/<kind>/` to reproduce it by hand.
enum FuzzCampaign {
    static func caseCount(default bounded: Int) -> Int {
        ProcessInfo.processInfo.environment["WORKBENCH_FUZZ_CASES"].flatMap(Int.init) ?? bounded
    }

    static var campaignSeed: UInt64 {
        ProcessInfo.processInfo.environment["WORKBENCH_FUZZ_SEED"].flatMap(UInt64.init) ?? 2026_1207
    }

    static let failureFolder = WorkbenchProcess.packageRoot.appendingPathComponent(".build/fuzz-failures")

    static func run(kind: String, defaultCases: Int,
                    _ body: (URL, inout FuzzRandom) throws -> [FuzzRunRecord]) throws -> FuzzTally {
        var tally = FuzzTally(kind: kind)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("workbench-fuzz-\(kind)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let kindSeed = kind.utf8.reduce(campaignSeed) { ($0 &* 31) &+ UInt64($1) }
        for index in 0..<caseCount(default: defaultCases) {
            let seed = kindSeed &+ UInt64(index) &* 0x9E37_79B9
            var random = FuzzRandom(seed: seed)
            let folder = root.appendingPathComponent("case\(index)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let records = try body(folder, &random)
            tally.cases += 1
            for record in records {
                tally.runs += 1
                tally.counts[record.outcome.verdict, default: 0] += 1
                tally.slowest = max(tally.slowest, record.outcome.seconds)
                if record.outcome.verdict.isFailure {
                    tally.failures.append("case \(index) (seed \(seed)) \(record.outcome.verdict.rawValue), status \(record.outcome.status): "
                                          + "\(record.mutation); workbench \(record.arguments.joined(separator: " ")); stderr: "
                                          + record.outcome.stderrLines.suffix(3).joined(separator: " | "))
                    keep(folder, record: record, as: "\(kind)/case\(index)-seed\(seed)")
                }
            }
            try? FileManager.default.removeItem(at: folder)
        }
        print(tally.summary)
        return tally
    }

    private static func keep(_ folder: URL, record: FuzzRunRecord, as name: String) {
        let target = failureFolder.appendingPathComponent(name)
        try? FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: target)
        // cp -a copies a FIFO as a FIFO; FileManager would open it and block.
        let copy = Process()
        copy.executableURL = URL(fileURLWithPath: "/bin/cp")
        copy.arguments = ["-a", folder.path, target.path]
        try? copy.run()
        copy.waitUntilExit()
        let command = "# \(record.mutation)\n(cd \(target.path) && workbench \(record.arguments.joined(separator: " ")))\n"
        try? command.write(to: target.appendingPathComponent("command.txt"), atomically: true, encoding: .utf8)
    }
}
