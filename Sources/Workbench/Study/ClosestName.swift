/// "Did you mean …?" for misspelt keys and names.
///
/// Levenshtein distance (insertions, deletions, substitutions, each cost 1), computed with
/// the classic two-row dynamic programme; a candidate counts as close when its distance is
/// at most max(1, ⌊n / 3⌋) for the typed name's length n — enough to catch `lora_alhpa` or
/// `stpes` without suggesting unrelated keys.
public enum ClosestName {
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// The closest candidate, if any is close enough (ties: the first in `candidates`).
    public static func match(for name: String, among candidates: [String]) -> String? {
        let limit = max(1, name.count / 3)
        var best: (name: String, distance: Int)?
        for candidate in candidates {
            let d = distance(name.lowercased(), candidate.lowercased())
            if d <= limit, d < (best?.distance ?? Int.max) { best = (candidate, d) }
        }
        return best?.name
    }
}
