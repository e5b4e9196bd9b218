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
        let file: HDF5File
        do {
            guard case .sealed = try FileSeal.verify(url) else { throw PartProblem(reason: "not sealed (not written by this workbench version)") }
            file = try HDF5File.openChecked(url)
        } catch let error as FileSealError {
            throw PartProblem(reason: error.reason)
        } catch let error as HDF5Error {
            throw PartProblem(reason: error.detail)
        }
        do {
            guard try file.isComplete() else { throw PartProblem(reason: "no completeness marker") }
            let root = try file.root()
            let hasIdentity = try root.hasAttribute(ResultsLayout.PartAttribute.id)
            guard !requireIdentity || hasIdentity else { throw PartProblem(reason: "no identity attribute") }
            if let expectedID, hasIdentity {
                let stored = try root.stringAttribute(ResultsLayout.PartAttribute.id)
                guard stored == expectedID else {
                    throw PartProblem(reason: "holds identity \(stored), not \(expectedID): it belongs to another study or version")
                }
            }
            return file
        } catch {
            try? file.close()
            if let error = error as? HDF5Error { throw PartProblem(reason: error.detail) }
            throw error
        }
    }

    /// The identity JSON stored in a sound part file, or nil (the file is checked once).
    static func identity(_ url: URL) -> String? {
        guard let file = try? open(url) else { return nil }
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
