import Foundation
import Testing
@testable import Workbench

/// Headless Chromium (Debian's `chromium`, installed by `make test` when missing).
enum HeadlessChromium {
    static let executable: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    static let trait = ConditionTrait.enabled(if: executable != nil, "chromium is not installed (make deps installs it)")

    /// Runs chromium headless with `arguments` on `page`; returns stdout and stderr. Killed after 120 s.
    static func run(_ arguments: [String], page: URL) throws -> (stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable!)
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                             "--user-data-dir=" + page.deletingLastPathComponent().appendingPathComponent("chromium-profile").path]
            + arguments + [page.absoluteString]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let deadline = DispatchTime.now() + .seconds(120)
        DispatchQueue.global().asyncAfter(deadline: deadline) { if process.isRunning { process.terminate() } }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }
}

@Suite("Report: rendered in a real browser")
struct ReportBrowserTests {
    /// Appended to a copy of the page: after layout, per figure, how many marks its SVG draws and
    /// the share of the image their bounding boxes cover; written into the DOM for --dump-dom.
    static let probe = """
        <script>
        (function () {
          var result = { figures: document.querySelectorAll('figure').length, svgs: [] };
          document.querySelectorAll('figure svg').forEach(function (svg) {
            var marks = Array.prototype.slice.call(svg.querySelectorAll('rect,line,polyline,polygon,circle,path,text')).slice(1);
            var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
            marks.forEach(function (m) { var b = m.getBBox(); if (b.width + b.height > 0) {
              x0 = Math.min(x0, b.x); y0 = Math.min(y0, b.y); x1 = Math.max(x1, b.x + b.width); y1 = Math.max(y1, b.y + b.height); } });
            var w = svg.viewBox.baseVal.width, h = svg.viewBox.baseVal.height;
            result.svgs.push({ id: svg.parentNode.id, marks: marks.length, cover: x1 > x0 ? (x1 - x0) * (y1 - y0) / (w * h) : 0,
                               shown: svg.getBoundingClientRect().width });
          });
          document.body.setAttribute('data-probe', JSON.stringify(result));
        })();
        </script>
        """

    struct Probe: Decodable {
        struct Figure: Decodable { var id: String; var marks: Int; var cover: Double; var shown: Double }
        var figures: Int
        var svgs: [Figure]
    }

    @Test("the report of a small study renders every figure, none blank, with no console message", HeadlessChromium.trait)
    func rendersInChromium() throws {
        try withTemporaryFolder { folder in
            let results = try tinyResults(in: folder, methods: "  - {method: full, lr: 3.0e-4}\n  - {method: lora, r: 2, lora_alpha: 4}\n  - {method: qlora, r: 2, lora_alpha: 4}\n  - {method: prompt, num_virtual_tokens: 2}\n")
            let report = try StudyReport.build(results)
            let page = folder.appendingPathComponent("report.html")
            _ = try report.write(to: page)
            let sections = Set(report.figures.map(\.section))
            #expect(sections.count == 6, "every section has a figure: \(sections.sorted()); log: \(report.log)")
            #expect(report.figures.count == 4 + 1 + 1 + 2 + 1 + 2 + 1, "4 heatmaps, learned vs forgotten, loss, spectra + energy rank, recovery, φ + intruders, 4-bit error")

            let probed = folder.appendingPathComponent("probed.html")
            try report.html().replacingOccurrences(of: "</body>", with: Self.probe + "</body>").write(to: probed, atomically: true, encoding: .utf8)
            let run = try HeadlessChromium.run(["--enable-logging=stderr", "--v=0", "--dump-dom"], page: probed)
            let attribute = try #require(run.stdout.range(of: "data-probe=\"[^\"]*\"", options: .regularExpression), "no probe result in the DOM:\n\(run.stderr.suffix(2000))")
            let json = run.stdout[attribute].dropFirst("data-probe=\"".count).dropLast()
                .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
            let probe = try JSONDecoder().decode(Probe.self, from: Data(json.utf8))
            #expect(probe.figures == report.figures.count)
            #expect(probe.svgs.count == report.figures.count)
            for figure in probe.svgs {
                #expect(figure.marks >= 10, "\(figure.id) draws only \(figure.marks) marks")
                #expect(figure.cover > 0.3, "\(figure.id): its marks cover \(figure.cover) of the image")
                #expect(figure.shown > 200, "\(figure.id) is shown \(figure.shown) px wide")
            }
            let console = run.stderr.split(separator: "\n").filter { $0.contains("CONSOLE") && !$0.contains("data-probe") }
            #expect(console.isEmpty, "console: \(console)")

            // The screenshot a reader would see: a PNG of the first screen, not blank (a blank page compresses to a few KB).
            let png = folder.appendingPathComponent("report.png")
            _ = try HeadlessChromium.run(["--window-size=1200,1600", "--screenshot=" + png.path], page: page)
            let bytes = try Data(contentsOf: png)
            #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG")
            let width = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = bytes[20..<24].reduce(0) { $0 << 8 | Int($1) }
            #expect(width == 1200 && height == 1600)
            #expect(bytes.count > 40_000, "screenshot of \(bytes.count) bytes looks blank")
        }
    }

    @Test("--skip leaves an analysis and its figures out, and says so; an unknown name is refused")
    func skip() throws {
        try withTemporaryFolder { folder in
            let results = try tinyResults(in: folder)
            _ = try SpectrumAnalysis.run(results, filter: AnalysisFilter(matrices: ["attn.q"]))
            let filtered = try StudyReport.build(results, skip: ["lowrank", "subspace", "nf4"])
            #expect(filtered.log.contains { $0.hasPrefix("spectrum: stored tables reused (options {\"filter\":") && $0.contains("attn.q") },
                    "the latest stored run is drawn, whatever its filter: \(filtered.log)")
            let report = try StudyReport.build(results, skip: ["lowrank", "subspace", "nf4", "spectrum"])
            #expect(report.log.contains("lowrank: skipped (--skip lowrank); its figures are left out"))
            #expect(Set(report.figures.map(\.section)) == [ReportFigures.performanceSection, ReportFigures.trainingSection])
            #expect(throws: AnalysisError.invalidOption(name: "skip", value: "spectra", reason: "not an analysis (choices: forgetting, spectrum, lowrank, subspace, nf4)")) {
                try StudyReport.build(results, skip: ["spectra"])
            }
        }
    }

    @Test("the checkpoint mode draws an adapter's spectra, ranks and intruders")
    func checkpointMode() throws {
        let adapter = try PEFTAdapter(folder: CheckpointFixtures.path("lora_adapter"))
        let base = try CheckpointSet(path: CheckpointFixtures.path("lora_base"))
        let report = StudyReport.checkpoint(try CheckpointAnalysis.spectrum(adapter: adapter, base: base), source: "lora_adapter")
        #expect(report.figures.map(\.id) == ["spectra", "checkpoint-ranks", "checkpoint-intruders"])
        #expect(report.figures.allSatisfy { $0.section == ReportFigures.checkpointSection })
        #expect(report.html().contains("<h2>The spectrum of ΔW of a checkpoint</h2>"))
    }
}
