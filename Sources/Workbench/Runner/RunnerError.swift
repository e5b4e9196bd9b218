import Foundation

/// Why a study could not run (study-file mistakes are `StudyError`s instead).
public enum RunnerError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Another process holds the output's lock file.
    case outputLocked(output: String, pid: Int?)
    /// The results file holds another study text; resuming would mix two studies.
    case studyChanged(output: String)
    /// The results file exists but is not a complete workbench file.
    case incompleteOutput(output: String)
    /// The results file is not one the runner wrote (no study text).
    case notAStudyFile(output: String)
    /// A file the runner needs (lock file, checkpoint) cannot be opened.
    case io(path: String, detail: String)
    /// A base checkpoint lacks a parameter the model needs.
    case checkpoint(path: String, detail: String)
    /// An example does not fit in the positions a method leaves (prompt tuning's virtual tokens).
    case contextTooShort(run: String, task: String, needed: Int, available: Int)
    /// Another live process is computing the part (`PartLock`).
    case partLocked(part: String, holder: String, lock: String, age: Double)
    /// A selected cell's base has not been computed (`run --cells` never pretrains).
    case baseMissing(cell: String, base: String)
    /// `--cells` named indices outside the plan, or could not be parsed.
    case badSelection(String)
    /// The output cannot be written as asked (read-only, a dangling symlink, a folder).
    case outputRefused(output: String, reason: String)

    public var description: String {
        switch self {
        case .outputLocked(let output, let pid):
            let who = pid.map { "another workbench process (pid \($0))" } ?? "another workbench process"
            return "\(who) is writing \(output); wait for it to finish or stop it (lock file \(output).lock)"
        case .studyChanged(let output):
            return "\(output) holds results of a different study text; use --force to start over (the file will be replaced) or --output to write elsewhere"
        case .incompleteOutput(let output):
            return "\(output) is not a complete workbench results file; use --force to start over"
        case .notAStudyFile(let output):
            return "\(output) is not a study results file (no study_text attribute); use --force to replace it or --output to write elsewhere"
        case .io(let path, let detail):
            return "\(path): \(detail)"
        case .partLocked(let part, let holder, let lock, let age):
            return "\(part) is being computed by \(holder), last seen \(Int(age)) s ago; it is refused here (if that process is dead, its claim lapses after \(Int(PartLock.staleAfter)) s, or remove \(lock))"
        case .baseMissing(let cell, let base):
            return "\(cell) needs \(base), which is not computed yet: run the bases first (`workbench run STUDY --bases`)"
        case .badSelection(let reason):
            return reason
        case .outputRefused(let output, let reason):
            return "\(output): \(reason)"
        case .checkpoint(let path, let detail):
            return "base checkpoint \(path): \(detail)"
        case .contextTooShort(let run, let task, let needed, let available):
            return "run \(run): task \(task) needs \(needed) positions but only \(available) are left by the method in the context"
        }
    }
}
