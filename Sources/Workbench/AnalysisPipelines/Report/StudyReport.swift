import Foundation

/// `workbench report`: every figure a researcher looks at for one study, in one self-contained
/// HTML page (inline SVG, inline CSS, no script, no network), each figure also available as a
/// standalone `.svg`.
///
/// The figures are drawn from the analyses' tidy tables. An analysis whose tables are not yet
/// stored in the results file is run first with its default options (and stored, so the next
/// report and `workbench export` reuse it); the log says which ran and how long each took.
public struct StudyReport: Sendable {
    /// The analyses a report draws on, in the order they run.
    public static let analyses = ["forgetting", "spectrum", "lowrank", "subspace", "nf4"]

    public var source: String
    public var figures: [ReportFigure]
    /// One line per analysis: reused, computed in N s, skipped, or why it has no figure.
    public var log: [String]

    public init(source: String, figures: [ReportFigure], log: [String]) {
        self.source = source; self.figures = figures; self.log = log
    }

    /// Runs (or reuses) the analyses not in `skip` on `results` and draws their figures.
    /// `progress` receives a line when an analysis starts and when it ends.
    ///
    /// - Throws: `AnalysisError.invalidOption` for an unknown name in `skip`; errors of reading
    ///   the file. An analysis that does not apply (e.g. no cell stores ΔW) is noted, not thrown.
    public static func build(_ results: StudyResults, skip: Set<String> = [], progress: (String) -> Void = { _ in }) throws -> StudyReport {
        if let unknown = skip.subtracting(analyses).sorted().first {
            throw AnalysisError.invalidOption(name: "skip", value: unknown, reason: "not an analysis (choices: \(analyses.joined(separator: ", ")))")
        }
        var figures: [ReportFigure] = []
        var log: [String] = []
        let filter = AnalysisFilter()

        let evaluation = try results.evaluationTable()
        figures += ReportFigures.metricHeatmaps(evaluation)
        figures += ReportFigures.lossCurves(try results.trainingLossTable())

        let stored = results.latestStoredAnalyses()
        func run(_ name: String, _ body: () throws -> AnalysisReport) -> [TidyTable] {
            guard !skip.contains(name) else {
                log.append("\(name): skipped (--skip \(name)); its figures are left out")
                return []
            }
            // The latest stored run of the analysis, whatever its filter and options (e.g. a
            // spectrum restricted with --matrix on a real model): the report draws what the
            // researcher computed, the same tables `export` writes.
            if let parameters = stored[name], let tables = try? AnalysisStore.cached(results, analysis: name, parameters: parameters) {
                log.append("\(name): stored tables reused (options \(parameters))")
                progress("\(name): stored tables reused")
                return tables
            }
            progress("\(name): reading stored tables or computing…")
            let start = ContinuousClock.now
            do {
                let report = try body()
                let seconds = (ContinuousClock.now - start).inSeconds
                let line = report.reused ? "\(name): stored tables reused" : String(format: "\(name): computed in %.1f s and stored in the results", seconds)
                log.append(line)
                progress(line)
                return report.tables
            } catch let error as AnalysisError {
                let line = "\(name): no figure — \(error.description)"
                log.append(line)
                progress(line)
                return []
            } catch {
                let line = "\(name): no figure — \(error)"
                log.append(line)
                progress(line)
                return []
            }
        }
        func table(_ tables: [TidyTable], _ name: String) -> TidyTable? { tables.first { $0.name == name } }

        let forgetting = run("forgetting") { try ForgettingAnalysis.run(results, filter: filter) }
        if let summary = table(forgetting, "forgetting_summary") { figures += ReportFigures.learnedVersusForgotten(summary) }

        let spectrum = run("spectrum") { try SpectrumAnalysis.run(results, filter: filter) }
        if let values = table(spectrum, "singular_values") { figures += ReportFigures.spectra(values) }
        if let summary = table(spectrum, "spectrum_summary") { figures += ReportFigures.energyRanks(summary, spectrum: table(spectrum, "spectrum")) }

        let lowrank = run("lowrank") { try LowRankTest.run(results, options: LowRankOptions(modes: ["all"])) }
        if let summary = table(lowrank, "lowrank_summary") { figures += ReportFigures.recoveryCurves(summary) }

        let subspace = run("subspace") { try SubspaceAnalysis.run(results, filter: filter) }
        if let similarity = table(subspace, "subspace_similarity") { figures += ReportFigures.phiHeatmap(similarity) }
        if let intruders = table(subspace, "intruder_dimensions") {
            figures += ReportFigures.intruders(intruders, sweep: table(subspace, "intruder_sweep"))
        }

        let nf4 = run("nf4") { try NF4Effect.run(results, filter: filter) }
        if let errors = table(nf4, "nf4_error") { figures += ReportFigures.quantizationError(errors) }

        return StudyReport(source: results.url.path, figures: figures, log: log)
    }

    /// The report of a checkpoint analysis (`CheckpointAnalysis.spectrum` on `--base/--tuned` or
    /// `--adapter`): its spectra, ranks and (adapter with base) intruders.
    public static func checkpoint(_ analysis: AnalysisReport, source: String) -> StudyReport {
        StudyReport(source: source, figures: ReportFigures.checkpoint(analysis, source: source),
                    log: ["\(analysis.analysis): \(analysis.tables.map { "\($0.name) (\($0.rows.count) rows)" }.joined(separator: ", "))"] + analysis.notes)
    }

    /// The figures' sections in reading order.
    static let sectionOrder = [ReportFigures.performanceSection, ReportFigures.trainingSection, ReportFigures.spectrumSection,
                               ReportFigures.lowRankSection, ReportFigures.subspaceSection, ReportFigures.quantizationSection,
                               ReportFigures.checkpointSection]

    /// The page: title, what was computed, a contents list, then each section's figures with
    /// captions. Inline CSS only; every SVG inline.
    public func html(title: String? = nil) -> String {
        let e = SVGDocument.escaped
        let heading = title ?? "Workbench report: " + URL(fileURLWithPath: source).lastPathComponent
        let sections = Self.sectionOrder.filter { s in figures.contains { $0.section == s } }
            + Set(figures.map(\.section)).subtracting(Self.sectionOrder).sorted()
        var out = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(e(heading))</title>
            <style>
            body { font-family: Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #111; line-height: 1.45; }
            h1 { font-size: 1.6em; margin-bottom: 0.2em; }
            h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
            .meta { color: #444; font-size: 0.92em; }
            figure { margin: 1.5em 0; overflow-x: auto; }
            figure svg { display: block; max-width: 100%; height: auto; }
            figcaption { font-size: 0.9em; color: #333; max-width: 60em; margin-top: 0.4em; }
            figcaption b { color: #000; }
            ul.log { font-size: 0.88em; color: #333; }
            </style>
            </head>
            <body>
            <h1>\(e(heading))</h1>
            <p class="meta">Results: <code>\(e(source))</code> · workbench \(e(WorkbenchInfo.version)) · \(figures.count) figures. Every number is in the tables of <code>workbench export</code>.</p>
            <ul class="log">
            \(log.map { "<li>\(e($0))</li>" }.joined(separator: "\n"))
            </ul>
            <nav><ol>
            \(sections.map { s in "<li><a href=\"#\(ReportFigure.fileSafe(s))\">\(e(s))</a> (\(figures.filter { $0.section == s }.count))</li>" }.joined(separator: "\n"))
            </ol></nav>

            """
        for section in sections {
            out += "<section id=\"\(ReportFigure.fileSafe(section))\">\n<h2>\(e(section))</h2>\n"
            for figure in figures where figure.section == section {
                out += "<figure id=\"\(figure.id)\">\n\(figure.svg)<figcaption><b>\(e(figure.title)).</b> \(e(figure.caption)) <span class=\"meta\">(\(figure.id).svg)</span></figcaption>\n</figure>\n"
            }
            out += "</section>\n"
        }
        return out + "</body>\n</html>\n"
    }

    /// Writes the page to `url` and, with `figureFolder`, every figure as `<id>.svg` there;
    /// each file atomically. Returns the paths written.
    public func write(to url: URL, figureFolder: URL? = nil) throws -> [URL] {
        var written: [URL] = []
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try StudyExport.writeAtomically(html(), to: url)
        written.append(url)
        if let figureFolder {
            try FileManager.default.createDirectory(at: figureFolder, withIntermediateDirectories: true)
            for figure in figures {
                let file = figureFolder.appendingPathComponent(figure.id + ".svg")
                try StudyExport.writeAtomically("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + figure.svg, to: file)
                written.append(file)
            }
        }
        return written
    }
}
