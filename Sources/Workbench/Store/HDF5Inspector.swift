import Foundation

/// One node of an HDF5 file's tree, as `HDF5Inspector` found it.
public struct HDF5Node: Sendable {
    /// What a link leads to.
    public enum Kind: Sendable {
        case group
        case dataset(HDF5DatasetSummary)
        /// A named (committed) data type.
        case namedDataType
        /// A soft link, not followed.
        case softLink(target: String)
        /// An external link into another file, not followed.
        case externalLink(file: String, object: String)
        /// A second hard link to an object already listed at `firstPath` (not walked again,
        /// which also keeps cyclic hard links from looping).
        case alreadyListed(firstPath: String)
        /// A user-defined link or object type the inspector does not know.
        case other
    }

    /// Link name ("/" for the root).
    public var name: String
    /// Absolute path in the file.
    public var path: String
    public var kind: Kind
    /// Attributes with their values, sorted by name.
    public var attributes: [HDF5Attribute]
    /// Children of a group, sorted by name.
    public var children: [HDF5Node]

    /// The node at the absolute or relative `path` below this one, if any.
    public func node(at path: String) -> HDF5Node? {
        var node = self
        for part in path.split(separator: "/") {
            guard let child = node.children.first(where: { $0.name == part }) else { return nil }
            node = child
        }
        return node
    }
}

/// A named attribute value.
public struct HDF5Attribute: Equatable, Sendable {
    public var name: String
    public var value: HDF5Value
}

/// Shape, type and storage of a dataset (its values are not read).
public struct HDF5DatasetSummary: Equatable, Sendable {
    /// `[]` for a scalar, nil for a null dataspace.
    public var shape: [Int]?
    public var dataType: HDF5DataType
    public var layout: HDF5Layout
    public var filters: [HDF5Filter]
}

/// Walks any HDF5 file: the tree of groups and datasets with shapes, types, chunking,
/// compression, and every attribute with its value. Used by `workbench inspect`.
public enum HDF5Inspector {
    /// Reads the tree of the file at `url` (read-only).
    public static func inspect(_ url: URL) throws -> HDF5Node {
        let file = try HDF5File.open(url)
        let root = try file.root()
        var seen: [UInt64: String] = [try H5.objectIdentity(root.handle.id, root.location).address: "/"]
        return try walk(root, name: "/", seen: &seen)
    }

    private static func walk(_ group: HDF5Group, name: String, seen: inout [UInt64: String]) throws -> HDF5Node {
        var children: [HDF5Node] = []
        for childName in try group.children() {
            let path = group.childPath(childName)
            let at = H5Where(file: group.file.url.path, object: path)
            switch try H5.linkTarget(group.handle.id, childName, at) {
            case .soft(let target):
                children.append(HDF5Node(name: childName, path: path, kind: .softLink(target: target),
                                         attributes: [], children: []))
            case .external(let file, let object):
                children.append(HDF5Node(name: childName, path: path, kind: .externalLink(file: file, object: object),
                                         attributes: [], children: []))
            case .userDefined:
                children.append(HDF5Node(name: childName, path: path, kind: .other, attributes: [], children: []))
            case .hard(let address):
                if let first = seen[address] {
                    children.append(HDF5Node(name: childName, path: path, kind: .alreadyListed(firstPath: first),
                                             attributes: [], children: []))
                    continue
                }
                seen[address] = path
                switch try group.kind(of: childName) {
                case .group:
                    children.append(try walk(group.group(childName), name: childName, seen: &seen))
                case .dataset:
                    let dataset = try group.dataset(childName)
                    let storage = try dataset.storage()
                    let summary = HDF5DatasetSummary(shape: dataset.shape, dataType: dataset.dataType,
                                                     layout: storage.layout, filters: storage.filters)
                    children.append(HDF5Node(name: childName, path: path, kind: .dataset(summary),
                                             attributes: try attributes(of: dataset), children: []))
                case .other:
                    let type: HDF5Node.Kind = try H5.objectType(group.handle.id, childName, at) == .namedDataType
                        ? .namedDataType : .other
                    children.append(HDF5Node(name: childName, path: path, kind: type, attributes: [], children: []))
                }
            }
        }
        return HDF5Node(name: name, path: group.path, kind: .group, attributes: try attributes(of: group),
                        children: children)
    }

    private static func attributes(of object: HDF5Object) throws -> [HDF5Attribute] {
        try object.attributes().map { HDF5Attribute(name: $0.name, value: $0.value) }
    }

    /// The tree as indented text: one line per link, attributes as "@name = value" below it.
    ///
    ///     /  (group)
    ///       @workbench_complete = 1
    ///       runs/
    ///         w  float32 [4, 3]  contiguous
    public static func render(_ root: HDF5Node) -> String {
        var lines: [String] = []
        render(root, depth: 0, into: &lines)
        return lines.joined(separator: "\n") + "\n"
    }

    private static func render(_ node: HDF5Node, depth: Int, into lines: inout [String]) {
        let indent = String(repeating: "  ", count: depth)
        switch node.kind {
        case .group:
            lines.append(indent + (node.name == "/" ? "/" : node.name + "/") + "  (group)")
        case .dataset(let summary):
            var line = indent + node.name + "  " + summary.dataType.description + " " + shapeText(summary.shape)
            line += "  " + summary.layout.description
            if !summary.filters.isEmpty { line += "  " + summary.filters.map(\.description).joined(separator: ", ") }
            lines.append(line)
        case .namedDataType:
            lines.append(indent + node.name + "  (named data type)")
        case .softLink(let target):
            lines.append(indent + node.name + " -> " + target + "  (soft link)")
        case .externalLink(let file, let object):
            lines.append(indent + node.name + " -> " + file + ":" + object + "  (external link)")
        case .alreadyListed(let first):
            lines.append(indent + node.name + "  (hard link to " + first + ")")
        case .other:
            lines.append(indent + node.name + "  (unknown object)")
        }
        for attribute in node.attributes {
            lines.append(indent + "    @" + attribute.name + " = " + attribute.value.description)
        }
        for child in node.children { render(child, depth: depth + 1, into: &lines) }
    }

    private static func shapeText(_ shape: [Int]?) -> String {
        guard let shape else { return "null" }
        if shape.isEmpty { return "scalar" }
        return "[" + shape.map(String.init).joined(separator: ", ") + "]"
    }
}
