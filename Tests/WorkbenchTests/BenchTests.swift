import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// Keys every JSON line of `workbench bench` carries.
private let figureKeys: Set<String> = [
    "name", "size", "threads", "cores", "blas_kernel", "value", "unit", "reps", "best", "median",
]
/// Keys a line may carry in addition.
private let optionalFigureKeys: Set<String> = [
    "detail", "fraction_of_peak", "method", "reference", "reference_source", "phase_ms", "vs_full", "peak_rss_mb",
    "reference_peak_rss_mb",
]

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
            "store_commit", "store_verify", "store_commit_scaling",
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
        let kernels = figures.filter { !$0.name.hasPrefix("study") && !$0.name.hasPrefix("analysis_") && !$0.name.hasPrefix("store_") }
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
        #expect(BenchSuite.names == ["sgemm", "svd", "memcpy", "train", "train_llama", "nf4", "hdf5", "store", "study"])
    }

    @Test("store --quick: commit and verify per method × delta form, the file's size in the detail; commit time against study size")
    func storeFigures() {
        let figures = quickFigures(only: ["store"])
        let commits = figures.filter { $0.name == "store_commit" }
        #expect(commits.count == 2 * StorePolicy.Delta.allCases.count)
        #expect(Set(commits.compactMap(\.method)) == ["full", "lora"])
        #expect(commits.allSatisfy { $0.unit == "s" && $0.detail?.contains("bytes per parameter") == true })
        #expect(figures.filter { $0.name == "store_verify" }.count == commits.count)
        #expect(figures.filter { $0.name == "store_commit_scaling" }.map(\.size) == [1, 4])
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
            #expect(figure.reference == nil && figure.referenceSource == nil, "no references given: \(figure.jsonLine)")
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

    @Test("training figures give their fastest step's forward, backward and update milliseconds; no other figure has phases")
    func trainingPhases() throws {
        let figures = quickFigures(only: ["train", "memcpy"])
        #expect(figures.contains { $0.name == "train" } && figures.contains { $0.name == "memcpy" })
        for figure in figures {
            guard figure.name == "train" else {
                #expect(figure.phaseMilliseconds == nil, "\(figure.jsonLine)")
                continue
            }
            let phases = try #require(figure.phaseMilliseconds, "\(figure.jsonLine)")
            #expect(phases.keys.sorted() == ["backward", "forward", "update"])
            #expect(phases.values.allSatisfy { $0 > 0 && $0.isFinite }, "\(figure.jsonLine)")
            // The fastest step took (B·T = 2·8 tokens of the quick shape) / best seconds; its phases fit in it.
            #expect(phases.values.reduce(0, +) <= 1e3 * 2 * 8 / figure.best * 1.000_001, "phases within the step: \(figure.jsonLine)")
            #expect(figure.jsonLine.contains(#""phase_ms":{"backward":"#))
        }
    }

    @Test("every method's training figure but full's gives its speed over full fine-tuning's, best over best")
    func trainingVersusFull() throws {
        let figures = quickFigures(only: ["train"])
        for threads in [1, 2] {
            let train = figures.filter { $0.name == "train" && $0.threads == threads }
            let full = try #require(train.first { $0.method == "full" })
            #expect(full.versusFull == nil && !full.jsonLine.contains("vs_full"))
            for figure in train where figure.method != "full" {
                let ratio = try #require(figure.versusFull, "\(figure.jsonLine)")
                #expect(abs(ratio - figure.best / full.best) <= 1e-9 * ratio, "\(figure.jsonLine)")
                #expect(figure.jsonLine.contains(#""vs_full":"#))
                #expect(BenchTable.row(figure).contains(String(format: "%.2f× full", ratio)))
            }
        }
        #expect(figures.filter { $0.name != "train" }.allSatisfy { $0.versusFull == nil })
    }

    @Test("no figure carries a built-in external reference; train and eval figures name their method")
    func noBuiltInReferences() {
        for figure in quickFigures(only: ["train", "svd", "nf4"]) {
            #expect(figure.reference == nil, "reference without a references file: \(figure.jsonLine)")
            #expect((figure.method != nil) == ["train", "eval"].contains(figure.name), "\(figure.jsonLine)")
        }
        let methods = quickFigures(only: ["train"]).filter { $0.name == "train" }.compactMap(\.method)
        #expect(methods == MethodRegistry.names + MethodRegistry.names, "each method at 1, then 2 threads")
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

// MARK: - References measured on this machine (bench/references.json)

extension BenchTests {
    /// A references file's text with the given figure objects (JSON fragments).
    static func referencesJSON(cpu: String = "Test CPU", figures: [String], magic: String = BenchReferences.magic) -> String {
        """
        {"magic": "\(magic)", "version": 1, "generated": "2026-01-01T00:00:00Z",
         "machine": {"cpu": "\(cpu)", "cores": 2}, "software": {"torch": "2.15.0", "peft": "0.21.2"},
         "figures": [\(figures.joined(separator: ",\n"))]}
        """
    }

    @Suite("bench references")
    struct References {
        let nf4Count = NF4Benchmark().quickCount
        var figures: [String] {
            [
                #"{"name": "train", "size": 16, "threads": 1, "method": "lora", "unit": "tokens/s", "value": 5000, "median": 4000, "reps": 8, "tool": "peft LoRA"}"#,
                #"{"name": "train", "size": 16, "threads": 1, "method": "full", "unit": "s", "value": 1, "tool": "wrong unit"}"#,
                #"{"name": "sgesdd_full", "size": 8, "threads": 2, "unit": "s", "value": 0.5, "tool": "torch.linalg.svd"}"#,
                #"{"name": "sgesdd_full", "size": 8, "threads": 2, "unit": "s", "value": 0.2, "tool": "scipy gesdd", "measured": "2026-01-01T00:00:00Z"}"#,
                "{\"name\": \"nf4_dequantize\", \"size\": \(nf4Count), \"threads\": 1, \"unit\": \"GB/s\", \"value\": 1.5, \"tool\": \"bitsandbytes\"}",
                #"{"name": "train", "size": 128, "threads": 1, "method": "lora", "unit": "tokens/s", "value": 9000, "tool": "other size"}"#,
            ]
        }

        func parsed() throws -> BenchReferences {
            try BenchReferences.parse(Data(referencesJSON(figures: figures).utf8), file: "refs.json")
        }

        @Test("a references file parses: machine, versions and every figure with its keys")
        func parses() throws {
            let references = try parsed()
            #expect(references.cpu == "Test CPU" && references.file == "refs.json")
            #expect(references.software == ["torch": "2.15.0", "peft": "0.21.2"])
            #expect(references.figures.count == 6)
            let lora = references.figures[0]
            #expect(lora == BenchReference(name: "train", size: 16, threads: 1, method: "lora", unit: "tokens/s",
                                           value: 5000, median: 4000, reps: 8, tool: "peft LoRA"))
            #expect(references.figures[2].method == nil && references.figures[3].measured == "2026-01-01T00:00:00Z")
        }

        @Test("quick figures take their reference from the file: same name, size, threads, unit and method; the strongest wins")
        func matchedToFigures() throws {
            var figures: [BenchFigure] = []
            BenchSuite.run(only: ["svd", "train", "nf4"], settings: BenchSettings(quick: true), references: try parsed()) {
                figures.append($0)
            }
            for figure in figures {
                let key = "\(figure.name) \(figure.size)@\(figure.threads) \(figure.method ?? "-")"
                switch key {
                case "train 16@1 lora":
                    #expect(figure.reference == 5000 && figure.referenceSource == "peft LoRA (refs.json)", "\(figure.jsonLine)")
                case "sgesdd_full 8@2 -":
                    #expect(figure.reference == 0.2, "the faster tool: \(figure.jsonLine)")
                    #expect(figure.referenceSource == "scipy gesdd (refs.json, 2026-01-01T00:00:00Z)", "\(figure.jsonLine)")
                case "nf4_dequantize \(nf4Count)@1 -":
                    #expect(figure.reference == 1.5 && figure.referenceSource?.hasPrefix("bitsandbytes") == true, "\(figure.jsonLine)")
                default:
                    #expect(figure.reference == nil && figure.referenceSource == nil, "nothing should match: \(figure.jsonLine)")
                }
            }
            let matched = figures.filter { $0.reference != nil }.map { "\($0.name)@\($0.threads)" }
            #expect(matched == ["sgesdd_full@2", "train@1", "nf4_dequantize@1"])
            let line = try #require(figures.first { $0.reference == 5000 }?.jsonLine)
            #expect(line.contains(#""reference":5000"#) && line.contains(#""reference_source":"peft LoRA (refs.json)""#)
                && line.contains(#""method":"lora""#), "\(line)")
        }

        @Test("load: a missing file is nil (no reference column); an existing one is read")
        func loadsFromDisk() throws {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bench-refs-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let path = folder.appendingPathComponent("references.json").path
            #expect(try BenchReferences.load(path) == nil)
            try referencesJSON(figures: figures).write(toFile: path, atomically: true, encoding: .utf8)
            let loaded = try #require(try BenchReferences.load(path))
            #expect(loaded.file == path && loaded.figures.count == 6)
        }

        @Test("a malformed file is an error naming the file and the key", arguments: [
            (#"{"name": "train", "size": 16, "threads": 1, "unit": "s", "tool": "t"}"#, "figures[1].value", "missing"),
            (#"{"name": "train", "size": 16, "threads": 1, "unit": "s", "value": "fast", "tool": "t"}"#, "figures[1].value", "number"),
            (#"{"name": "train", "size": 16, "threads": 1, "unit": "s", "value": -2, "tool": "t"}"#, "figures[1].value", "> 0"),
            (#"{"name": "train", "size": 16, "threads": 0, "unit": "s", "value": 2, "tool": "t"}"#, "figures[1].threads", "≥ 1"),
            (#"{"name": "train", "size": 16, "threads": 1, "unit": "s", "value": 2, "tool": ""}"#, "figures[1].tool", "empty"),
            (#"{"name": "train", "size": 16.5, "threads": 1, "unit": "s", "value": 2, "tool": "t"}"#, "figures[1].size", "whole number"),
            (#"{"name": "train", "size": 16, "threads": 1, "unit": "s", "value": 2, "median": 0, "tool": "t"}"#, "figures[1].median", "> 0"),
        ])
        func malformedFigure(figure: String, key: String, phrase: String) {
            let valid = #"{"name": "sgemm", "size": 8, "threads": 1, "unit": "GFLOP/s", "value": 1, "tool": "t"}"#
            let text = referencesJSON(figures: [valid, figure])
            let error = #expect(throws: BenchReferencesError.self) {
                try BenchReferences.parse(Data(text.utf8), file: "bench/refs.json")
            }
            #expect(error?.keyPath == key, "\(String(describing: error))")
            #expect(error?.file == "bench/refs.json")
            #expect(error?.description.hasPrefix("bench/refs.json: \(key): ") == true, "\(String(describing: error))")
            #expect(error?.message.contains(phrase) == true, "\(String(describing: error))")
        }

        @Test("a wrong magic, version, machine or non-JSON text is an error naming the key")
        func malformedDocument() {
            let cases: [(String, String)] = [
                (referencesJSON(figures: [], magic: "something-else"), "magic"),
                (referencesJSON(figures: []).replacingOccurrences(of: #""version": 1"#, with: #""version": 2"#), "version"),
                (referencesJSON(figures: []).replacingOccurrences(of: #""cpu": "Test CPU", "#, with: ""), "machine.cpu"),
                (referencesJSON(figures: []).replacingOccurrences(of: #""figures": []"#, with: #""figures": {}"#), "figures"),
                ("{ not json", ""),
            ]
            for (text, key) in cases {
                let error = #expect(throws: BenchReferencesError.self) { try BenchReferences.parse(Data(text.utf8), file: "r.json") }
                #expect(error?.keyPath == key, "expected \(key): \(String(describing: error))")
                #expect(error?.description.hasPrefix("r.json:") == true)
            }
        }

        @Test("the summary names the file, CPU and versions, and warns when the CPU is not this one")
        func summary() throws {
            let references = try parsed()
            let same = references.summaryLines(currentCPU: "Test CPU")
            #expect(same.count == 1 && same[0].contains("refs.json") && same[0].contains("6 figures")
                && same[0].contains("Test CPU") && same[0].contains("torch 2.15.0"), "\(same)")
            let other = references.summaryLines(currentCPU: "Another CPU")
            #expect(other.count == 2 && other[1].contains("warning") && other[1].contains("Another CPU"), "\(other)")
        }

        @Test("the same CPU name on another generation (family, model, SIMD flags) is warned about too")
        func sameNameOtherGeneration() throws {
            let json = referencesJSON(figures: []).replacingOccurrences(
                of: #""cpu": "Test CPU""#, with: #""cpu": "AMD EPYC", "cpu_family": "26", "cpu_model_number": "2", "simd": "fma avx2 avx512f avx512_bf16""#)
            let references = try BenchReferences.parse(Data(json.utf8), file: "r.json")
            #expect(references.machine == .init(family: "26", model: "2", simd: ["fma", "avx2", "avx512f", "avx512_bf16"]))
            let zen5 = BenchReferences.CPUIdentity(family: "26", model: "2", simd: ["avx2", "fma", "avx512f", "avx512_bf16", "sse2"])
            let zen3 = BenchReferences.CPUIdentity(family: "25", model: "1", simd: ["avx2", "fma"])
            #expect(references.summaryLines(currentCPU: "AMD EPYC", currentMachine: zen5).count == 1, "the same machine: no warning")
            let lines = references.summaryLines(currentCPU: "AMD EPYC", currentMachine: zen3)
            #expect(lines.count == 2 && lines[1].contains("family 25") && lines[1].contains("family 26"), "\(lines)")
        }
    }
}
