import Foundation

/// A one-line status on stderr for the analysis commands: redrawn in place at most every
/// 100 ms on a terminal; elsewhere (a log, a pipe) a plain line at most every 10 s. The first
/// and the last update (`done == total`) are always shown, so a log says when work started and
/// ended without a line per item.
final class StatusLine {
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private var lastDraw: ContinuousClock.Instant?
    private var drawnInPlace = false

    /// Shows `text` (e.g. "lowrank: 12/1026 evaluations") for item `done` of `total`.
    func update(_ text: String, done: Int, total: Int) {
        let now = ContinuousClock.now
        let interval: Duration = isTerminal ? .milliseconds(100) : .seconds(10)
        let isLast = done >= total
        if let lastDraw, !isLast, now - lastDraw < interval { return }
        lastDraw = now
        if isTerminal {
            write("\r\u{1B}[K" + text + (isLast ? "\n" : ""))
            drawnInPlace = !isLast
        } else {
            write(text + "\n")
        }
    }

    /// Ends a line left open on a terminal (when the work stopped before `done == total`).
    func finish() {
        if drawnInPlace { write("\n"); drawnInPlace = false }
    }

    /// For callers that report lines of the form "… i/n …": parses i and n out of the text.
    func update(_ text: String) {
        let numbers = text.split(whereSeparator: { $0 == " " || $0 == ":" }).first { $0.contains("/") }?
            .split(separator: "/").compactMap { Int($0) }
        if let numbers, numbers.count == 2 {
            update(text, done: numbers[0], total: numbers[1])
        } else {
            finish()
            write(text + "\n")
        }
    }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}
