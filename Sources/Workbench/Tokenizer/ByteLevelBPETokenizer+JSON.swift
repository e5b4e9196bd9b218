import Foundation

extension ByteLevelBPETokenizer {
    /// The tokenizer of an HF folder's `tokenizer.json` (HF tokenizers' format): a `BPE` model
    /// with its `vocab` and `merges` ("a b" strings or [a, b] pairs), the `ByteLevel`
    /// pre-tokenizer without a prefix space, and `added_tokens` (the special ones are matched in
    /// text as control tokens). Anything else — another model type, a normalizer, another
    /// pre-tokenizer, `ignore_merges` or `byte_fallback` — is refused naming the key, rather than
    /// tokenizing differently from the reference.
    public convenience init(tokenizerJSON path: String) throws {
        func fail(_ key: String, _ reason: String) -> TokenizerError { TokenizerError(reason: "\(path): \(key): \(reason)") }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("file", "cannot be read") }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { throw fail("file", "not a JSON object") }
        guard let model = root["model"] as? [String: Any], (model["type"] as? String) == "BPE" else {
            throw fail("model.type", "\((root["model"] as? [String: Any])?["type"] ?? "missing"); only BPE is read")
        }
        if let normalizer = root["normalizer"], !(normalizer is NSNull) { throw fail("normalizer", "must be null for byte-level BPE") }
        guard let pre = root["pre_tokenizer"] as? [String: Any], (pre["type"] as? String) == "ByteLevel",
              (pre["add_prefix_space"] as? Bool) != true, (pre["use_regex"] as? Bool) != false else {
            throw fail("pre_tokenizer", "only ByteLevel with add_prefix_space false and use_regex true is read")
        }
        if (model["ignore_merges"] as? Bool) == true { throw fail("model.ignore_merges", "true is not supported") }
        if (model["byte_fallback"] as? Bool) == true { throw fail("model.byte_fallback", "true is not supported") }
        guard let vocab = model["vocab"] as? [String: Any] else { throw fail("model.vocab", "missing or not an object") }
        var added: [(String, Int, Bool)] = []
        for entry in (root["added_tokens"] as? [[String: Any]]) ?? [] {
            guard let content = entry["content"] as? String, let id = (entry["id"] as? NSNumber)?.intValue else {
                throw fail("added_tokens", "an entry without content or id")
            }
            added.append((content, id, (entry["special"] as? Bool) ?? false))
        }
        let size = max((vocab.values.compactMap { ($0 as? NSNumber)?.intValue }.max() ?? -1), added.map(\.1).max() ?? -1) + 1
        guard size > 0, size <= 1 << 22 else { throw fail("model.vocab", "\(size) tokens") }
        var tokens = [String](repeating: "", count: size)
        var types = [Int](repeating: 1, count: size)
        for (token, value) in vocab {
            guard let id = (value as? NSNumber)?.intValue, id >= 0 else { throw fail("model.vocab.\(token)", "not a non-negative integer id") }
            tokens[id] = token
        }
        for (content, id, special) in added where id >= 0 {
            tokens[id] = content
            if special { types[id] = 3 }
        }
        var merges: [String] = []
        for (i, m) in ((model["merges"] as? [Any]) ?? []).enumerated() {
            if let s = m as? String { merges.append(s) } else if let pair = m as? [String], pair.count == 2 { merges.append(pair[0] + " " + pair[1]) } else {
                throw fail("model.merges[\(i)]", "neither \"a b\" nor [a, b]")
            }
        }
        try self.init(tokens: tokens, merges: merges, tokenTypes: types, bos: nil, eos: nil)
    }
}
