import Testing
@testable import workbench_cli

/// Collects what a `StatusLine` writes.
private final class Transcript {
    var text = ""
    func status(terminal: Bool) -> StatusLine { StatusLine(isTerminal: terminal) { self.text += $0 } }
}

@Suite("Status line: throttled progress on stderr")
struct StatusLineTests {
    @Test("in a log: the first and the last update are lines of their own; updates in between within 10 s are dropped")
    func logShowsFirstAndLast() {
        let out = Transcript(), status = out.status(terminal: false)
        for i in 1...5 { status.update("lowrank: \(i)/5 evaluations") }
        #expect(out.text == "lowrank: 1/5 evaluations\nlowrank: 5/5 evaluations\n")
    }

    @Test("on a terminal: the line is redrawn in place (carriage return, erase) and the last update ends it")
    func terminalRedrawsInPlace() {
        let out = Transcript(), status = out.status(terminal: true)
        status.update("spectrum: tensor 1/2 q", done: 1, total: 2)
        status.update("spectrum: tensor 2/2 k", done: 2, total: 2)
        status.finish()
        #expect(out.text == "\r\u{1B}[Kspectrum: tensor 1/2 q\r\u{1B}[Kspectrum: tensor 2/2 k\n", "no second newline from finish()")
    }

    @Test("finish ends a line left open; a text without i/n is printed on a line of its own")
    func finishAndPlainText() {
        let out = Transcript(), status = out.status(terminal: true)
        status.update("nf4: 3/10")
        status.update("skipped w_q: not 2-D")
        #expect(out.text == "\r\u{1B}[Knf4: 3/10\nskipped w_q: not 2-D\n")
    }

    @Test("show(always:) skips the throttle; endsLine false leaves the terminal line open for the next redraw")
    func milestonesSkipTheThrottle() {
        let out = Transcript(), status = out.status(terminal: false)
        status.show("step 1")
        status.show("step 2")
        status.show("cell finished", always: true, endsLine: true)
        #expect(out.text == "step 1\ncell finished\n")
        let tty = Transcript(), line = tty.status(terminal: true)
        line.show("cell started", always: true)
        line.finish()
        #expect(tty.text == "\r\u{1B}[Kcell started\n")
    }
}
