import Foundation

/// A study's index and its parts opened for reading, each file checked (`FileSeal`, completeness
/// marker, identity) before HDF5 parses it. The readers of results — `StudyResults`,
/// `StudySummary`, `StudyEvaluator` — reach every base and cell through here, never through the
/// index's external links (which HDF5 would follow without the check).
public final class StudyParts {
    public let layout: ResultsLayout
    let index: HDF5File
    /// The index's root (study text, plan attributes).
    public let root: HDF5Group
    /// Planned cells: index path (`runs/{label}/seed{s}`), file, identity id, in run order.
    public let cells: [(path: String, file: URL, id: String)]
    /// Planned bases: seed, file, identity id.
    public let bases: [(seed: Int, file: URL, id: String)]
    private var openFiles: [URL: HDF5File] = [:]

    /// Opens the index at `url`.
    ///
    /// - Throws: `AnalysisError.notAStudyFile` for a file that is missing, damaged, not an
    ///   index, or from the earlier single-file layout.
    public init(index url: URL) throws {
        layout = ResultsLayout(index: URL(fileURLWithPath: url.path).resolvingSymlinksInPath())
        let path = url.standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: path) else { throw AnalysisError.notAStudyFile(path: path, reason: "no such file") }
        do {
            guard case .sealed = try FileSeal.verify(url) else {
                throw AnalysisError.notAStudyFile(path: path, reason: "an HDF5 file without the workbench's checksum header (written by an earlier version, or by another program)")
            }
        } catch let error as FileSealError {
            throw AnalysisError.notAStudyFile(path: path, reason: error.reason)
        }
        index = try HDF5File.open(url)
        do {
            guard try index.isComplete() else {
                throw AnalysisError.notAStudyFile(path: path, reason: "no workbench_complete marker (an interrupted write?)")
            }
            let root = try index.root()
            self.root = root
            typealias A = ResultsLayout.IndexAttribute
            guard try root.hasAttribute(A.studyText) else {
                throw AnalysisError.notAStudyFile(path: path, reason: "no study_text attribute (not written by `workbench run`)")
            }
            guard try root.hasAttribute(A.layoutVersion), try root.integerAttribute(A.layoutVersion) == Int64(ResultsLayout.version) else {
                throw AnalysisError.notAStudyFile(path: path, reason: "written in the earlier single-file layout; rerun the study to read it with this version")
            }
            typealias P = ResultsLayout.PlanDataset
            func strings(_ name: String) throws -> [String]? {
                guard try root.contains(name), case .strings(let values) = try root.readValue(name) else { return nil }
                return values
            }
            let seeds = try root.contains(P.seeds) ? try root.readArray(P.seeds, as: Int64.self).values : nil
            guard let paths = try strings(P.cellPaths), let files = try strings(P.cellFiles), let ids = try strings(P.cellIDs),
                  paths.count == files.count, files.count == ids.count, let seeds,
                  let baseFiles = try strings(P.baseFiles), let baseIDs = try strings(P.baseIDs),
                  seeds.count == baseFiles.count, seeds.count == baseIDs.count else {
                throw AnalysisError.notAStudyFile(path: path, reason: "the /plan datasets (cell_paths, cell_files, cell_ids, seeds, base_files, base_ids) are missing or disagree")
            }
            let folder = layout.index.deletingLastPathComponent()
            cells = (0..<paths.count).map { (paths[$0], folder.appendingPathComponent(files[$0]), ids[$0]) }
            bases = (0..<seeds.count).map { (Int(seeds[$0]), folder.appendingPathComponent(baseFiles[$0]), baseIDs[$0]) }
        } catch {
            try? index.close()
            throw error
        }
    }

    deinit { close() }

    /// Closes the index and every part.
    public func close() {
        for file in openFiles.values { try? file.close() }
        openFiles = [:]
        try? index.close()
    }

    /// The root of the cell at index path `path`, or nil when the cell is not computed yet.
    /// - Throws: `AnalysisError.damagedPart` when its file is there but fails its check.
    public func cell(_ path: String) throws -> HDF5Group? {
        guard let entry = cells.first(where: { $0.path == path }) else { return nil }
        return try part(entry.file, id: entry.id, name: path)
    }

    /// The root of the base of `seed`, or nil when it is not computed yet.
    public func base(seed: Int) throws -> HDF5Group? {
        guard let entry = bases.first(where: { $0.seed == seed }) else { return nil }
        return try part(entry.file, id: entry.id, name: ResultsLayout.basePath(seed: seed))
    }

    private func part(_ url: URL, id: String, name: String) throws -> HDF5Group? {
        if let file = openFiles[url] { return try file.root() }
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let file: HDF5File
        do {
            file = try PartFile.open(url, expectedID: id)
        } catch let problem as PartFile.PartProblem {
            throw AnalysisError.damagedPart(file: url.path, part: name, reason: problem.reason)
        }
        openFiles[url] = file
        return try file.root()
    }
}
