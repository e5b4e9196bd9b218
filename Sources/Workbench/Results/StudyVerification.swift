import Foundation

/// `workbench verify`: the study's fsck. Checks the index, every planned base and cell (seal,
/// completeness marker, that the file holds the identity its name promises) and every stored
/// analysis, and lists files in the parts folder that belong to no part of the study.
public struct StudyVerification {
    public struct Problem: Equatable, Sendable {
        public var part: String
        public var file: String
        /// `missing`, `damaged`, `changed` (the plan's word).
        public var state: String
        public var detail: String
    }

    public var index: URL
    public var basesComplete = 0, cellsComplete = 0
    public var bases = 0, cells = 0, analyses = 0
    public var problems: [Problem] = []
    /// Files in the parts folder that no part of the study names (earlier versions of changed
    /// cells, or foreign files).
    public var strays: [String] = []
    public var seconds = 0.0

    /// Whether nothing is missing or damaged.
    public var isSound: Bool { problems.isEmpty }

    /// Checks the study whose index is at `url` (the index names the study; the study file is
    /// not needed).
    ///
    /// - Throws: `AnalysisError.notAStudyFile` when the index itself is missing or damaged.
    public static func run(index url: URL) throws -> StudyVerification {
        let start = ContinuousClock.now
        let parts = try StudyParts(index: url)
        let text = try parts.root.stringAttribute(ResultsLayout.IndexAttribute.studyText)
        let file = try parts.root.hasAttribute(ResultsLayout.IndexAttribute.studyFile) ? try parts.root.stringAttribute(ResultsLayout.IndexAttribute.studyFile) : url.path
        parts.close()
        let resolved = try ResolvedStudy(try Study.parse(yaml: text, file: file))
        let plan = StudyPlan(resolved, layout: ResultsLayout(index: url.resolvingSymlinksInPath()), verify: true)
        var report = StudyVerification(index: url)
        report.bases = plan.bases.count
        report.cells = plan.cells.count
        var known = Set<String>()
        for b in plan.bases {
            known.insert(b.file.lastPathComponent)
            if b.state.isComplete { report.basesComplete += 1 } else { report.problems.append(problem(b.name, b.file, b.state)) }
        }
        for c in plan.cells {
            known.insert(c.file.lastPathComponent)
            if c.state.isComplete { report.cellsComplete += 1 } else { report.problems.append(problem(c.name, c.file, c.state)) }
        }
        let layout = plan.layout
        for folder in [layout.basesFolder, layout.cellsFolder] {
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted() where !known.contains(name) {
                report.strays.append(layout.relativePath(of: folder.appendingPathComponent(name)))
            }
        }
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: layout.analysisFolder.path)) ?? []).sorted() where name.hasSuffix(".h5") {
            let analysisFile = layout.analysisFolder.appendingPathComponent(name)
            report.analyses += 1
            if let reason = PartFile.problem(analysisFile, requireIdentity: false) {
                report.problems.append(Problem(part: "analysis \(name.dropLast(3))", file: layout.relativePath(of: analysisFile), state: "damaged",
                                               detail: reason + " (the next run of that analysis recomputes it)"))
            }
        }
        report.seconds = RunnerClock.seconds(since: start)
        return report
    }

    static func problem(_ name: String, _ file: URL, _ state: StudyPlan.State) -> Problem {
        let detail: String
        switch state {
        case .missing: detail = "not computed"
        case .changed(let d): detail = "the study changed it: " + d.joined(separator: "; ")
        case .damaged(let r): detail = r
        case .complete: detail = ""
        }
        return Problem(part: name, file: file.path, state: state.word, detail: detail)
    }

    /// What `verify` prints.
    public func rendered() -> String {
        var lines = ["\(index.path): bases \(basesComplete)/\(bases) complete, cells \(cellsComplete)/\(cells) complete, \(analyses) stored analyses; checked in \(String(format: "%.2f", seconds)) s"]
        for p in problems { lines.append("\(p.state): \(p.part): \(p.file): \(p.detail)") }
        if !strays.isEmpty {
            lines.append("not part of the study (\(strays.count)): " + strays.joined(separator: ", "))
        }
        if isSound { lines.append("sound: every part is complete and intact") }
        return lines.joined(separator: "\n")
    }

    /// The verdict of an unsound study in one line (the command's error line); nil when sound.
    public var failureSummary: String? {
        isSound ? nil : "NOT sound: \(problems.count) part(s) missing or damaged; `workbench run` on the study recomputes them"
    }
}
