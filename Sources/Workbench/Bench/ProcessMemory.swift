import Foundation

/// The process's resident memory as Linux reports it (`/proc/self/status`): the current
/// resident set (VmRSS) and its high-water mark (VmHWM), which `resetPeak` sets back to the
/// current size (writing "5" to `/proc/self/clear_refs`, Linux ≥ 4.0). So a benchmark can
/// measure the peak of one phase inside a longer process. The engine's big buffers
/// (`FloatArena`, `calloc`) are mappings of their own, returned to the system when freed, so
/// one measured phase's memory does not linger into the next.
enum ProcessMemory {
    /// Peak resident bytes since start or the last `resetPeak`; nil where /proc is unavailable.
    static func peakBytes() -> Int? { statusKilobytes("VmHWM:").map { $0 * 1024 } }

    /// Current resident bytes; nil where /proc is unavailable.
    static func residentBytes() -> Int? { statusKilobytes("VmRSS:").map { $0 * 1024 } }

    /// Sets the high-water mark to the current resident size. Returns false when the kernel
    /// refuses (the peak then covers the whole process).
    @discardableResult
    static func resetPeak() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        return (try? handle.write(contentsOf: Data("5".utf8))) != nil
    }

    private static func statusKilobytes(_ key: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            return Int(line.dropFirst(key.count).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
        }
        return nil
    }
}
