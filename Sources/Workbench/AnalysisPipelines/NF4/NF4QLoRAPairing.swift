import Foundation

/// QLoRA vs LoRA with matched seeds: part 2 of the NF4 effect analysis (`NF4Effect`).
///
/// Matching rule: a qlora cell is paired with the lora cell that has the same seed, the same
/// protocol and the same number of tasks. If several lora cells qualify, only those whose
/// configuration JSON equals the qlora one without its `bnb_4bit_*` keys (same `r`,
/// `lora_alpha`, `target_modules`, dropout, …) are kept; the pair is made when exactly one
/// remains. Otherwise the qlora cell is unmatched and `unmatchedReason` says why. Lora cells
/// are looked up among all cells of the file (a `--method qlora` filter still finds them).
public struct NF4QLoRAPair: Equatable, Sendable {
    public var qlora: StudyResults.Cell
    public var lora: StudyResults.Cell

    /// Pairs for `qloraCells` among `cells`, and one line per qlora cell that has no partner.
    public static func match(_ qloraCells: [StudyResults.Cell], among cells: [StudyResults.Cell]) -> (pairs: [NF4QLoRAPair], unmatched: [String]) {
        var pairs: [NF4QLoRAPair] = [], unmatched: [String] = []
        for q in qloraCells where q.method == "qlora" {
            let candidates = cells.filter {
                $0.method == "lora" && $0.seed == q.seed && $0.fineTuningProtocol == q.fineTuningProtocol && $0.taskCount == q.taskCount
            }
            let chosen: [StudyResults.Cell]
            if candidates.count <= 1 {
                chosen = candidates
            } else {
                let wanted = loraPart(of: q.configuration)
                chosen = candidates.filter { wanted != nil && loraPart(of: $0.configuration) == wanted }
            }
            if chosen.count == 1 {
                pairs.append(NF4QLoRAPair(qlora: q, lora: chosen[0]))
            } else {
                let why = candidates.isEmpty
                    ? "no lora cell with seed \(q.seed), protocol \(q.fineTuningProtocol) and \(q.taskCount) task(s)"
                    : "\(candidates.count) lora cells with seed \(q.seed) and \(chosen.count) of them with the same LoRA configuration"
                unmatched.append("\(q.label)/seed\(q.seed) unmatched: \(why)")
            }
        }
        return (pairs, unmatched)
    }

    /// The configuration JSON as a dictionary without the `bnb_4bit_*` keys (nil if not JSON).
    static func loraPart(of configuration: String) -> NSDictionary? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(configuration.utf8)) as? [String: Any] else { return nil }
        return object.filter { !$0.key.hasPrefix("bnb_4bit_") } as NSDictionary
    }
}

/// Summary metrics of one accuracy matrix R, rows = base (0) and after each task (1…T),
/// columns = the S base skills then the T tasks.
public struct NF4AccuracySummary: Equatable, Sendable {
    /// mean_j R[T][S + j − 1], j = 1…T: average task accuracy after the last task.
    public var finalAverageAccuracy: Double
    /// mean_s R[T][s]: base skills after the last task (nil without skills).
    public var skillsAfterLast: Double?
    /// Avalanche convention ("first − last"): mean over tasks j < T of R[j][S+j−1] − R[T][S+j−1]
    /// (nil for T = 1).
    public var forgetting: Double?
    /// mean_s (R[0][s] − R[T][s]) (nil without skills).
    public var skillDrop: Double?
    /// R[0][s] − R[T][s] per skill.
    public var skillDrops: [Double]

    /// - Precondition: R has T + 1 ≥ 2 rows of S + T columns.
    public init(accuracy r: [[Double]], skillCount s: Int) {
        let t = r.count - 1
        precondition(t >= 1 && r.allSatisfy { $0.count == s + t },
                     "NF4AccuracySummary: need T+1 ≥ 2 rows of S+T columns, got \(r.count) rows of \(r.first?.count ?? 0) with S = \(s)")
        let last = r[t]
        finalAverageAccuracy = (1...t).map { last[s + $0 - 1] }.reduce(0, +) / Double(t)
        skillsAfterLast = s > 0 ? last[0..<s].reduce(0, +) / Double(s) : nil
        forgetting = t > 1 ? (1..<t).map { r[$0][s + $0 - 1] - last[s + $0 - 1] }.reduce(0, +) / Double(t - 1) : nil
        skillDrops = (0..<s).map { r[0][$0] - last[$0] }
        skillDrop = s > 0 ? skillDrops.reduce(0, +) / Double(s) : nil
    }
}
