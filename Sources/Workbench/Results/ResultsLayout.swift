import Foundation

/// The one owner of where a study's results live on disk and what their paths are called
/// (docs/hdf5-layout.md). Layout version 2:
///
///     results/quickstart.h5                 the index: study text, plan, external links
///     results/quickstart.h5.d/
///         bases/seed0-1f3a…h5               one base model per seed
///         cells/lora_r=8-seed0-9c2e…h5      one cell (a method configuration × seed)
///         analysis/spectrum-4d1e….h5        one stored analysis result
///         locks/…                           who is computing what (`CellLock`)
///
/// Every file is committed on its own (`HDF5Transaction`: temporary, seal, fsync, rename), so a
/// commit costs one base or cell, never the whole study. File names carry the identity
/// (`RunIdentity`) of what they hold: a file exists under its name only if that exact base or
/// cell — same configuration, seed, tasks, base — was completed. The index links
/// `/seed{s}/base`, `/runs/{label}/seed{s}` and `/analysis/{name}/{key}` to those files, so
/// h5py opens the index as one file; the workbench itself opens each part directly, after
/// checking its seal.
public struct ResultsLayout: Sendable, Equatable {
    public static let version = 2

    /// The index file (the study's `output`).
    public let index: URL

    public init(index: URL) {
        self.index = index.standardizedFileURL
    }

    /// The folder of parts beside the index: `NAME.d`.
    public var parts: URL { index.deletingLastPathComponent().appendingPathComponent(partsFolderName) }
    /// `NAME.d`, as the index's links name it (relative to the index's folder).
    public var partsFolderName: String { index.lastPathComponent + ".d" }
    public var basesFolder: URL { parts.appendingPathComponent("bases") }
    public var cellsFolder: URL { parts.appendingPathComponent("cells") }
    public var analysisFolder: URL { parts.appendingPathComponent("analysis") }
    public var locksFolder: URL { parts.appendingPathComponent("locks") }

    /// `bases/seed{s}-{id}.h5`.
    public static func baseFileName(seed: Int, id: String) -> String { "seed\(seed)-\(id).h5" }
    /// `cells/{label}-seed{s}-{id}.h5`, the label made safe for a file name.
    public static func cellFileName(label: String, seed: Int, id: String) -> String {
        "\(fileSafe(label))-seed\(seed)-\(id).h5"
    }
    /// `analysis/{analysis}-{key}.h5`.
    public static func analysisFileName(analysis: String, key: String) -> String { "\(analysis)-\(key).h5" }

    public func baseFile(seed: Int, id: String) -> URL { basesFolder.appendingPathComponent(Self.baseFileName(seed: seed, id: id)) }
    public func cellFile(label: String, seed: Int, id: String) -> URL {
        cellsFolder.appendingPathComponent(Self.cellFileName(label: label, seed: seed, id: id))
    }
    public func analysisFile(analysis: String, key: String) -> URL {
        analysisFolder.appendingPathComponent(Self.analysisFileName(analysis: analysis, key: key))
    }

    /// A part's path relative to the index's folder, as the index's external links hold it.
    public func relativePath(of part: URL) -> String {
        let folder = index.deletingLastPathComponent().path
        let path = part.standardizedFileURL.path
        return path.hasPrefix(folder + "/") ? String(path.dropFirst(folder.count + 1)) : path
    }

    // MARK: Paths inside the index (and what a reader of the index sees)

    /// `/seed{s}/base` in the index: the base file's root.
    public static func basePath(seed: Int) -> String { "seed\(seed)/base" }
    /// `/runs/{label}/seed{s}` in the index: the cell file's root.
    public static func cellPath(label: String, seed: Int) -> String { "runs/\(groupName(label))/seed\(seed)" }
    /// `/analysis/{analysis}/{key}` in the index: the analysis file's root.
    public static func analysisPath(analysis: String, key: String) -> String { "analysis/\(analysis)/\(key)" }

    /// A label as an HDF5 link name ('/' would create a group).
    public static func groupName(_ label: String) -> String { label.replacingOccurrences(of: "/", with: "∕") }

    /// Why `name` cannot name a group of the results file (HDF5 reads "." and ".." as path
    /// steps), or nil when it can.
    public static func unusableGroupName(_ name: String) -> String? {
        name == "." || name == ".." ? "must not be \".\" or \"..\" (it names a group in the results file)" : nil
    }

    /// A label as a file name: letters, digits and `.=,+-_` kept, anything else `_`.
    public static func fileSafe(_ label: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.=,+-_")
        return String(label.map { allowed.contains($0) ? $0 : "_" }.prefix(80))
    }

    // MARK: Attribute names

    /// Root attributes of the index.
    public enum IndexAttribute {
        public static let layoutVersion = "layout_version"
        public static let studyText = "study_text"
        public static let studyName = "study_name"
        public static let studyFile = "study_file"
        public static let columnNames = "column_names"
        public static let columnKinds = "column_kinds"
        public static let gitCommit = "git_commit"
    }

    /// Datasets of the index's `/plan` group: 1-D, one entry per part. Datasets, not attributes,
    /// because HDF5 1.10 caps a file's attributes at 64 KiB, which a study of a few thousand cells
    /// would pass.
    public enum PlanDataset {
        public static let group = "plan"
        /// Index paths of every planned cell, in run order, the files they link to, their ids.
        public static let cellPaths = "plan/cell_paths"
        public static let cellFiles = "plan/cell_files"
        public static let cellIDs = "plan/cell_ids"
        /// Seeds, and the base file and id of each.
        public static let seeds = "plan/seeds"
        public static let baseFiles = "plan/base_files"
        public static let baseIDs = "plan/base_ids"
    }

    /// Root attributes every base and cell file carries besides its results.
    public enum PartAttribute {
        public static let layoutVersion = "layout_version"
        /// `base` or `cell`.
        public static let kind = "part_kind"
        /// The `RunIdentity` id (hex), also in the file name, and the JSON it digests.
        public static let id = "identity_id"
        public static let identity = "identity"
        /// The study that computed the part (its name; the part may be shared by later versions).
        public static let studyName = "study_name"
    }
}
