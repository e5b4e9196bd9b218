import Foundation

/// Learning rate as a function of the optimizer step (0-based: the first update is step 0).
///
/// Both schedules start with a linear warmup: `lr(s) = base · (s + 1) / warmup` for
/// s < warmup (so the first update already moves, as in nanoGPT). Then:
/// - `constant`: `base`.
/// - `cosine`: with p = (s − warmup) / (total − warmup) clamped to [0, 1],
///   `lr = minLR + ½ (base − minLR)(1 + cos πp)`; it reaches minLR at s = total and stays there.
public enum LRSchedule: Equatable, Sendable {
    case constant(warmup: Int)
    case cosine(warmup: Int, total: Int, minLR: Float)

    /// The learning rate at `step` for peak rate `base`.
    public func rate(step: Int, base: Float) -> Float {
        precondition(step >= 0, "LRSchedule: negative step \(step)")
        let warmup: Int
        switch self {
        case .constant(let w): warmup = w
        case .cosine(let w, _, _): warmup = w
        }
        if step < warmup { return base * Float(step + 1) / Float(warmup) }
        switch self {
        case .constant:
            return base
        case .cosine(_, let total, let minLR):
            let span = max(total - warmup, 1)
            let p = min(max(Double(step - warmup) / Double(span), 0), 1)
            return minLR + Float(0.5 * (1 + cos(Double.pi * p))) * (base - minLR)
        }
    }
}
