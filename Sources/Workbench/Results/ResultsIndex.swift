import Foundation

/// The study's entry point: a small HDF5 file holding the study text and the plan, and external
/// links to every base, cell and stored analysis, so that `h5py.File(index)` reads the whole
/// study as one file (a link whose part is not computed yet reads as absent).
///
/// Why an index of links rather than one file assembled by a gather step: nothing has to run
/// after the cells for the results to be readable, a part is never copied, and the index's
/// links can be written before any part exists, because part file names are fixed by their
/// identities. Several processes (a Slurm array) may write the index at once: each writes the
/// same content from the same study, atomically (temporary, seal, rename).
enum ResultsIndex {
    /// Writes the index for `plan` (replacing any index there), with links to the analysis
    /// files present in the parts folder.
    static func write(_ plan: StudyPlan, resolved: ResolvedStudy, runtime: RuntimeInfo, gitCommit: String?) throws {
        let layout = plan.layout
        let study = resolved.study
        typealias A = ResultsLayout.IndexAttribute
        try HDF5Transaction.write(to: layout.index) { root in
            try root.setAttribute(A.layoutVersion, ResultsLayout.version)
            try root.setAttribute(A.studyText, study.text)
            try root.setAttribute(A.studyName, study.name)
            try root.setAttribute(A.studyFile, study.file)
            try root.setAttribute(A.columnNames, .strings(resolved.columns.map(\.name)))
            try root.setAttribute(A.columnKinds, .strings(resolved.columns.map(\.kind.rawValue)))
            typealias P = ResultsLayout.PlanDataset
            try root.writeValue(.strings(plan.cells.map(\.path)), to: P.cellPaths)
            try root.writeValue(.strings(plan.cells.map { layout.relativePath(of: $0.file) }), to: P.cellFiles)
            try root.writeValue(.strings(plan.cells.map(\.identity.id)), to: P.cellIDs)
            try root.write(plan.bases.map { Int64($0.seed) }, to: P.seeds)
            try root.writeValue(.strings(plan.bases.map { layout.relativePath(of: $0.file) }), to: P.baseFiles)
            try root.writeValue(.strings(plan.bases.map(\.identity.id)), to: P.baseIDs)
            if let gitCommit { try root.setAttribute(A.gitCommit, gitCommit) }
            try runtime.write(to: root)
            for base in plan.bases {
                try root.createExternalLink(at: base.path, file: layout.relativePath(of: base.file))
            }
            for cell in plan.cells {
                try root.createExternalLink(at: cell.path, file: layout.relativePath(of: cell.file))
            }
            try linkAnalyses(root, layout: layout)
        }
    }

    /// Rewrites the index's `/analysis` links to match the analysis files present.
    static func relinkAnalyses(_ layout: ResultsLayout) throws {
        try HDF5Transaction.update(at: layout.index) { root in
            if try root.hasLink("analysis") { try root.remove("analysis") }
            try linkAnalyses(root, layout: layout)
        }
    }

    /// Links `/analysis/{name}/{key}` to every analysis file in the parts folder.
    static func linkAnalyses(_ root: HDF5Group, layout: ResultsLayout) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: layout.analysisFolder.path)) ?? []
        for name in names.sorted() where name.hasSuffix(".h5") {
            let stem = name.dropLast(3)
            guard let dash = stem.lastIndex(of: "-") else { continue }
            let analysis = String(stem[..<dash]), key = String(stem[stem.index(after: dash)...])
            try root.createExternalLink(at: ResultsLayout.analysisPath(analysis: analysis, key: key),
                                        file: layout.relativePath(of: layout.analysisFolder.appendingPathComponent(name)))
        }
    }
}
