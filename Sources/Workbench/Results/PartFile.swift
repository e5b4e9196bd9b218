import Foundation

/// Reading the header facts of one base, cell or analysis file without trusting it.
enum PartFile {
    /// Why the file at `url` cannot be used — a failed seal, no completeness marker, no
    /// identity — or nil when it is sound.
    static func problem(_ url: URL, expectedID: String? = nil, requireIdentity: Bool = true) -> String? {
        do {
            let file = try open(url, expectedID: expectedID, requireIdentity: requireIdentity)
            try file.close()
            return nil
        } catch let error as PartProblem {
            return error.reason
        } catch {
            return "\(error)"
        }
    }

    struct PartProblem: Error { var reason: String }

    /// Opens a sound part file, checked once: seal, completeness marker, identity.
    /// - Throws: `PartProblem` with the reason it cannot be used.
    static func open(_ url: URL, expectedID: String? = nil, requireIdentity: Bool = true) throws -> HDF5File {
        func problem() throws -> String? {
            guard case .sealed = try FileSeal.verify(url) else { return "not sealed (not written by this workbench version)" }
            let file = try HDF5File.openChecked(url)
            var keep = false
            defer { if !keep { try? file.close() } }
            guard try file.isComplete() else { return "no completeness marker" }
            let root = try file.root()
            let hasIdentity = try root.hasAttribute(ResultsLayout.PartAttribute.id)
            guard !requireIdentity || hasIdentity else { return "no identity attribute" }
            if let expectedID, hasIdentity, try root.stringAttribute(ResultsLayout.PartAttribute.id) != expectedID {
                return "holds identity \(try root.stringAttribute(ResultsLayout.PartAttribute.id)), not \(expectedID): it belongs to another study or version"
            }
            keep = true
            opened = file
            return nil
        }
        var opened: HDF5File?
        let reason: String?
        do {
            reason = try problem()
        } catch let error as FileSealError {
            reason = error.reason
        } catch let error as HDF5Error {
            reason = error.detail
        }
        if let reason { throw PartProblem(reason: reason) }
        return opened!
    }

    /// The identity JSON stored in a sound part file, or nil.
    static func identity(_ url: URL) -> String? {
        guard problem(url) == nil, let file = try? HDF5File.open(url) else { return nil }
        defer { try? file.close() }
        return try? file.root().stringAttribute(ResultsLayout.PartAttribute.identity)
    }

    /// Writes the part attributes every base and cell file carries.
    static func writeHeader(_ root: HDF5Group, kind: String, identity: RunIdentity, studyName: String) throws {
        try root.setAttribute(ResultsLayout.PartAttribute.layoutVersion, ResultsLayout.version)
        try root.setAttribute(ResultsLayout.PartAttribute.kind, kind)
        try root.setAttribute(ResultsLayout.PartAttribute.id, identity.id)
        try root.setAttribute(ResultsLayout.PartAttribute.identity, identity.json)
        try root.setAttribute(ResultsLayout.PartAttribute.studyName, studyName)
    }
}
