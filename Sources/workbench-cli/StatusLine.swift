import Foundation

/// A one-line status on stderr for long commands (`run`, the analyses): redrawn in place at
/// most every 100 ms on a terminal; elsewhere (a log, a pipe) a plain line at most every 10 s.
/// Texts shown `always` (the first, the last, a phase's start or end) skip the throttle, so a
/// log says when work started and ended without a line per item.
final class StatusLine {
    private let isTerminal: Bool
    private let interval: Duration
    private let output: (String) -> Void
    private var lastDraw: ContinuousClock.Instant?
    /// Whether the terminal's current line holds a status that no newline has ended yet.
    private var drawnInPlace = false

    /// `isTerminal` decides the drawing (in place or line by line) and the throttle (100 ms or
    /// 10 s); `output` receives the raw text (stderr by default).
    init(isTerminal: Bool = isatty(STDERR_FILENO) == 1,
         output: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.isTerminal = isTerminal
        self.interval = isTerminal ? .milliseconds(100) : .seconds(10)
        self.output = output
    }

    /// Shows `text` unless the last text was shown less than the interval ago (`always`: show
    /// it anyway). On a terminal it replaces the current line, and `endsLine` closes that line
    /// so the next text starts below; elsewhere each text is its own line.
    func show(_ text: String, always: Bool = false, endsLine: Bool = false) {
        let now = ContinuousClock.now
        if let lastDraw, !always, now - lastDraw < interval { return }
        lastDraw = now
        if isTerminal {
            output("\r\u{1B}[K" + text + (endsLine ? "\n" : ""))
            drawnInPlace = !endsLine
        } else {
            output(text + "\n")
        }
    }

    /// Shows `text` (e.g. "lowrank: 12/1026 evaluations") for item `done` of `total`; the
    /// first update (nothing shown yet) and the last (`done == total`) always appear.
    func update(_ text: String, done: Int, total: Int) {
        let isLast = done >= total
        show(text, always: isLast, endsLine: isLast)
    }

    /// Ends a line left open on a terminal (when the work stopped before `done == total`, or
    /// a new phase begins below the last one).
    func finish() {
        if drawnInPlace { output("\n"); drawnInPlace = false }
    }

    /// For callers that report lines of the form "… i/n …": parses i and n out of the text;
    /// any other text is printed on a line of its own.
    func update(_ text: String) {
        let numbers = text.split(whereSeparator: { $0 == " " || $0 == ":" }).first { $0.contains("/") }?
            .split(separator: "/").compactMap { Int($0) }
        if let numbers, numbers.count == 2 {
            update(text, done: numbers[0], total: numbers[1])
        } else {
            finish()
            output(text + "\n")
        }
    }
}
