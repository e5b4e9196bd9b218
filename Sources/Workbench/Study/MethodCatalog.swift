import PEFTEngine

/// The methods a study may name: by default exactly `MethodRegistry`'s.
///
/// A seam for tests (which add fake configurations) and for the CLI's `--list-methods`;
/// lookups go through the same configuration types the registry decodes.
public struct MethodCatalog: Sendable {
    public let configurations: [any PEFTMethodConfiguration.Type]

    public init(configurations: [any PEFTMethodConfiguration.Type]) {
        self.configurations = configurations
    }

    /// Every method registered in PEFTEngine.
    public static var registry: MethodCatalog { MethodCatalog(configurations: MethodRegistry.configurations) }

    public var names: [String] { configurations.map { $0.methodName } }

    public func configurationType(named name: String) -> (any PEFTMethodConfiguration.Type)? {
        configurations.first { $0.methodName == name }
    }
}
