import Testing
@testable import Workbench
@testable import workbench_cli

@Suite("workbench run: progress lines")
struct ProgressPrinterTests {
    private func progress(_ event: RunnerProgress.Event, _ phase: String, step: Int = 0) -> RunnerProgress {
        RunnerProgress(event: event, phase: phase, cellIndex: 1, cellCount: 2, taskIndex: 1, taskCount: 1,
                       step: step, totalSteps: 10, loss: 1, tokensPerSecond: 100, elapsed: 1)
    }

    @Test("on a terminal: a start opens a line that steps redraw (throttled) and the finish ends; a new phase's steps start below")
    func terminalLines() {
        var text = ""
        let printer = ProgressPrinter(status: StatusLine(isTerminal: true) { text += $0 })
        let events = [
            progress(.cellStarted, "lora seed0"),
            progress(.step, "lora seed0", step: 1),  // within 100 ms of the start: dropped
            progress(.cellFinished, "lora seed0", step: 10),
            progress(.cellStarted, "qlora seed0"),
            progress(.step, "full seed0", step: 1),  // another phase: the open line is ended first
        ]
        for p in events { #expect(printer.handle(p) == .proceed) }
        let erase = "\r\u{1B}[K"
        #expect(text == erase + events[0].line() + erase + events[2].line() + "\n" + erase + events[3].line() + "\n")
    }

    @Test("in a log: starts and finishes are lines of their own; steps within 10 s are dropped")
    func logLines() {
        var text = ""
        let printer = ProgressPrinter(status: StatusLine(isTerminal: false) { text += $0 })
        let events = [progress(.baseStarted, "base seed0"), progress(.step, "base seed0", step: 5),
                      progress(.baseFinished, "base seed0", step: 10)]
        for p in events { _ = printer.handle(p) }
        #expect(text == events[0].line() + "\n" + events[2].line() + "\n")
    }
}
