import Foundation
import Testing
@testable import Workbench

/// Keys every JSON line of `workbench bench` carries.
private let figureKeys: Set<String> = [
    "name", "size", "threads", "cores", "blas_kernel", "value", "unit", "reps", "best", "median",
]
/// Keys a line may carry in addition.
private let optionalFigureKeys: Set<String> = ["detail", "fraction_of_peak", "reference"]

private func quickFigures(only: [String]? = nil) -> [BenchFigure] {
    var figures: [BenchFigure] = []
    BenchSuite.run(only: only, settings: BenchSettings(quick: true)) { figures.append($0) }
    return figures
}

@Suite("workbench bench")
struct BenchTests {
    @Test("--quick: every line is a JSON object with the expected keys and sane values")
    func quickLinesParse() throws {
        let figures = quickFigures()
        #expect(Set(figures.map(\.name)) == [
            "sgemm", "sgesdd_values", "sgesdd_full", "svd_randomized", "memcpy", "train", "eval",
            "nf4_quantize", "nf4_dequantize", "nf4_quantize_dq", "nf4_dequantize_dq",
            "hdf5_write", "hdf5_read", "hdf5_write_gzip", "hdf5_read_gzip",
            "study", "study_tokens", "analysis_forgetting", "analysis_spectrum", "analysis_lowrank",
            "analysis_subspace", "analysis_nf4", "analysis_export", "analysis_all",
        ])
        for figure in figures {
            let line = figure.jsonLine
            #expect(!line.contains("\n"))
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not an object: \(line)")
            #expect(figureKeys.isSubset(of: Set(object.keys)), "keys of \(line)")
            #expect(Set(object.keys).subtracting(figureKeys).isSubset(of: optionalFigureKeys), "keys of \(line)")
            #expect(object["name"] as? String == figure.name)
            #expect((object["reps"] as? Int) == 1, "quick runs one repetition: \(line)")
            let value = try #require(object["value"] as? Double)
            let best = try #require(object["best"] as? Double)
            #expect(value == best && value > 0 && value.isFinite, "\(line)")
            #expect((object["cores"] as? Int) == ProcessInfo.processInfo.activeProcessorCount)
            #expect(try JSONDecoder().decode(BenchFigure.self, from: Data(line.utf8)) == figure)
        }
    }

    @Test("BLAS figures come at 1 and 2 threads for each quick size; memcpy once")
    func figureGrid() {
        let figures = quickFigures()
        let sgemm = figures.filter { $0.name == "sgemm" }.map { "\($0.size)@\($0.threads)" }
        #expect(sgemm == ["16@1", "16@2", "33@1", "33@2"])
        #expect(figures.filter { $0.name == "sgesdd_full" }.count == 4)
        #expect(figures.filter { $0.name == "memcpy" }.map(\.size) == [1 << 20])
        let kernels = figures.filter { !$0.name.hasPrefix("study") && !$0.name.hasPrefix("analysis_") }
        #expect(kernels.allSatisfy { ($0.unit == "s") == ($0.name.hasPrefix("sgesdd") || $0.name == "svd_randomized") })
        let randomized = figures.filter { $0.name == "svd_randomized" }
        #expect(randomized.count == 4 && randomized.allSatisfy { $0.detail?.contains("best rank-2") == true },
                "randomized SVD states its error beside the optimal one")
    }

    @Test("--only runs just the named benchmarks; unknown names are reported")
    func onlySelects() {
        #expect(Set(quickFigures(only: ["memcpy"]).map(\.name)) == ["memcpy"])
        #expect(Set(quickFigures(only: ["svd", "memcpy"]).map(\.name)) == ["sgesdd_values", "sgesdd_full", "svd_randomized", "memcpy"])
        #expect(BenchSuite.unknownNames(in: ["sgemm", "gpu", "svd"]) == ["gpu"])
        #expect(BenchSuite.names == ["sgemm", "svd", "memcpy", "train", "nf4", "hdf5", "study"])
    }

    @Test("nf4 --quick: quantize and dequantize, ± double quant, at each thread count, against copy and bitsandbytes")
    func nf4Figures() {
        let figures = quickFigures(only: ["nf4"])
        let quick = NF4Benchmark().quickCount
        let expected = [1, 2].flatMap { threads in
            ["nf4_quantize", "nf4_dequantize", "nf4_quantize_dq", "nf4_dequantize_dq"].map { "\($0)@\(threads)" }
        }
        #expect(figures.map { "\($0.name)@\($0.threads)" } == expected)
        for figure in figures {
            #expect(figure.unit == "GB/s" && figure.size == quick, "\(figure.jsonLine)")
            #expect(figure.best > 0 && figure.best.isFinite && figure.median > 0, "\(figure.jsonLine)")
            let fraction = figure.fractionOfPeak ?? -1
            #expect(fraction > 0 && fraction.isFinite, "fraction of the copy bandwidth: \(figure.jsonLine)")
            #expect(figure.reference == (figure.name.hasPrefix("nf4_quantize") ? 0.13 : 1.9), "\(figure.jsonLine)")
            #expect(figure.detail?.contains("blocksize 64") == true, "\(figure.jsonLine)")
            #expect(figure.detail?.contains("double quant") == figure.name.hasSuffix("_dq"), "\(figure.jsonLine)")
        }
    }

    @Test("hdf5 --quick: write and read MB/s, plain and shuffle+gzip, against memcpy; the temporary folder is removed")
    func hdf5Figures() throws {
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("bench-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: parent) }
        var figures: [BenchFigure] = []
        HDF5Benchmark(parent: parent).run(BenchSettings(quick: true)) { figures.append($0) }
        #expect(figures.map(\.name) == ["hdf5_write", "hdf5_read", "hdf5_write_gzip", "hdf5_read_gzip"])
        for figure in figures {
            #expect(figure.unit == "MB/s" && figure.threads == 1 && figure.size == HDF5Benchmark().quickSide, "\(figure.jsonLine)")
            #expect(figure.best > 0 && figure.best.isFinite && figure.reps == 1, "\(figure.jsonLine)")
            let reference = try #require(figure.reference, "memcpy MB/s missing: \(figure.jsonLine)")
            #expect(reference > 0 && figure.fractionOfPeak == figure.best / reference, "\(figure.jsonLine)")
            let detail = figure.detail ?? ""
            #expect(detail.contains(figure.name.hasSuffix("gzip") ? "shuffle + gzip" : "uncompressed"), "\(detail)")
            if figure.name.hasPrefix("hdf5_write") { #expect(detail.contains("fsync"), "\(detail)") }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path).isEmpty, "the benchmark's folder was not removed")
    }

    @Test("study --quick: the tiny study's wall time and tokens/s, then one figure per analysis and their sum; the folder is removed")
    func studyFigures() throws {
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("bench-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: parent) }
        var figures: [BenchFigure] = []
        StudyBenchmark(parent: parent).run(BenchSettings(quick: true)) { figures.append($0) }
        let analyses = ["forgetting", "spectrum", "lowrank", "subspace", "nf4", "export"]
        #expect(figures.map(\.name) == ["study", "study_tokens"] + analyses.map { "analysis_" + $0 } + ["analysis_all"])
        for figure in figures {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(figure.jsonLine.utf8)) as? [String: Any])
            #expect(figureKeys.isSubset(of: Set(object.keys)) && object["detail"] is String, "\(figure.jsonLine)")
            #expect(figure.unit == (figure.name == "study_tokens" ? "tokens/s" : "s"), "\(figure.jsonLine)")
            #expect(figure.best > 0 && figure.best.isFinite && figure.reps == 1, "\(figure.jsonLine)")
        }
        let study = try #require(figures.first)
        #expect(study.size == 8 * 8 * 24 + 3 * 2 * 4 * 8 * 24, "pretraining 8 steps × 8 × 24 + 3 configurations × 2 tasks × 4 steps × 8 × 24 tokens")
        #expect(figures[1].best == Double(study.size) / study.best, "tokens/s is the same run's tokens over its wall time")
        let perAnalysis = figures.filter { $0.name.hasPrefix("analysis_") && $0.name != "analysis_all" }
        #expect(perAnalysis.allSatisfy { $0.size == 3 }, "size = cells: 3 configurations × 1 seed")
        #expect(abs(figures.last!.best - perAnalysis.reduce(0) { $0 + $1.best }) < 1e-9, "analysis_all is the sum")
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path).isEmpty, "the benchmark's folder was not removed")
    }

    @Test("study: a missing study file is a skip naming the file and how to point at one, with no figures")
    func studySkipsAMissingFile() throws {
        let bench = StudyBenchmark(studyPath: "/nonexistent/quickstart.yaml")
        #expect {
            _ = try bench.study(quick: false, folder: FileManager.default.temporaryDirectory)
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("bench study: skipped: /nonexistent/quickstart.yaml not found") && text.contains(StudyBenchmark.studyVariable)
        }
        var figures: [BenchFigure] = []
        bench.run(BenchSettings(quick: false)) { figures.append($0) }
        #expect(figures.isEmpty)
    }

    @Test("best is the highest rate, or the shortest time; median is the middle repetition")
    func bestAndMedian() {
        let seconds = [0.4, 0.1, 0.2]
        let rate = BenchTiming.rateFigure(name: "r", size: 1, threads: 1, unit: "GB/s", work: 2, seconds: seconds)
        #expect(rate.best == 20 && rate.median == 10 && rate.value == rate.best && rate.reps == 3)
        let time = BenchTiming.timeFigure(name: "t", size: 1, threads: 1, seconds: seconds)
        #expect(time.best == 0.1 && time.median == 0.2 && time.unit == "s")
        #expect(BenchTiming.median([4, 1, 3, 2]) == 2.5)
    }

    @Test("the table row starts with the figure name and shows best, median and unit")
    func tableRow() {
        let figure = BenchFigure(name: "sgemm", size: 512, threads: 2, cores: 2, blasKernel: "SkylakeX",
                                 unit: "GFLOP/s", reps: 10, best: 187.4, median: 0.01234)
        let row = BenchTable.row(figure)
        #expect(row.hasPrefix("sgemm "))
        for cell in ["512", "187", "0.01234", "GFLOP/s", "SkylakeX"] {
            #expect(row.contains(cell), "\(cell) missing from \(row)")
        }
    }
}
