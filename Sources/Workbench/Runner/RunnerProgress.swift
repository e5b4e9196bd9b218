/// What the study runner reports while it works; the CLI draws it, tests count it.
///
/// The runner calls its progress handler at every event below and after every optimizer
/// step; the handler's answer (`RunnerControl`) can stop the study. Stopping during a phase
/// abandons that phase (nothing of it is written); stopping at `.cellFinished` happens after
/// the cell was committed, so a later run resumes from the next cell.
public struct RunnerProgress: Sendable {
    public enum Event: Sendable, Hashable {
        /// A base model is being pretrained (`step` counts its steps).
        case baseStarted
        /// A base model was read from the results file or a checkpoint instead of trained.
        case baseLoaded
        /// A base model was pretrained, evaluated and committed.
        case baseFinished
        /// A cell (one method configuration × seed) starts training.
        case cellStarted
        /// A cell is already in the results file (resume) and is not recomputed.
        case cellSkipped
        /// One optimizer step of the current phase.
        case step
        /// The current phase's loss became NaN or ±∞ at `step`; training of the cell stops.
        case diverged
        /// A cell's results were committed to the file.
        case cellFinished
    }

    public var event: Event
    /// "base seed0" or a cell's "LABEL seed0".
    public var phase: String
    /// 1-based index of the cell among all cells of the study (0 for base phases).
    public var cellIndex: Int
    public var cellCount: Int
    /// 1-based index of the task being trained (0 outside fine-tuning), of `taskCount`.
    public var taskIndex: Int
    public var taskCount: Int
    /// Optimizer steps done in this phase, of `totalSteps` (all tasks of a cell together).
    public var step: Int
    public var totalSteps: Int
    /// Loss of the last step (NaN before the first).
    public var loss: Float
    /// Training tokens per second in this phase so far (B × T per step).
    public var tokensPerSecond: Double
    /// Seconds since the phase started.
    public var elapsed: Double

    /// Estimated seconds left in the phase: elapsed / step × (totalSteps − step); nil before a step.
    public var estimatedSecondsLeft: Double? {
        guard step > 0, totalSteps >= step else { return nil }
        return elapsed / Double(step) * Double(totalSteps - step)
    }

    /// Fraction of the phase's steps done, in [0, 1].
    public var fraction: Double { totalSteps == 0 ? 1 : min(1, Double(step) / Double(totalSteps)) }
}

/// The progress handler's answer: go on, or stop the study (see `RunnerProgress`).
public enum RunnerControl: Sendable, Equatable {
    case proceed, stop
}

/// Receives every `RunnerProgress`; called on the runner's thread.
public typealias RunnerProgressHandler = (RunnerProgress) -> RunnerControl
