/// A group or dataset in an open file: the attribute operations both share.
///
/// Attributes are scalars (or 1-D arrays) of Int64, Double or variable-length UTF-8 String;
/// setting an existing attribute replaces it. The object keeps its file open.
public class HDF5Object {
    /// The file this object lives in.
    public let file: HDF5File
    /// Absolute path of the object inside the file, e.g. "/runs/lora/seed0".
    public let path: String
    let handle: H5Handle

    init(file: HDF5File, path: String, handle: H5Handle) {
        self.file = file
        self.path = path
        self.handle = handle
    }

    var location: H5Where { H5Where(file: file.url.path, object: path) }

    func checkOpen() {
        precondition(file.isOpen && handle.isOpen, "HDF5 object \(path) in \(file.url.path) used after its file was closed")
    }

    /// Absolute path of `relative` below this object.
    func childPath(_ relative: String) -> String {
        if relative.hasPrefix("/") { return relative }
        return path.hasSuffix("/") ? path + relative : path + "/" + relative
    }

    /// Names of this object's attributes, sorted.
    public func attributeNames() throws -> [String] {
        checkOpen()
        return try H5.attributeNames(handle.id, location)
    }

    /// Whether attribute `name` exists.
    public func hasAttribute(_ name: String) throws -> Bool {
        checkOpen()
        return try H5.attributeExists(handle.id, name, location.appending("@" + name))
    }

    /// The value of attribute `name`; throws if there is none.
    public func attribute(_ name: String) throws -> HDF5Value {
        checkOpen()
        return try H5.readAttribute(handle.id, name, location.appending("@" + name))
    }

    /// All attributes with their values, sorted by name.
    public func attributes() throws -> [(name: String, value: HDF5Value)] {
        try attributeNames().map { ($0, try attribute($0)) }
    }

    /// Sets attribute `name` to `value`, replacing any previous value.
    public func setAttribute(_ name: String, _ value: HDF5Value) throws {
        checkOpen()
        try H5.writeAttribute(handle.id, name, value, location.appending("@" + name))
    }

    public func setAttribute(_ name: String, _ value: Int) throws { try setAttribute(name, .integer(Int64(value))) }
    public func setAttribute(_ name: String, _ value: Double) throws { try setAttribute(name, .double(value)) }
    public func setAttribute(_ name: String, _ value: String) throws { try setAttribute(name, .string(value)) }

    /// Removes attribute `name`; throws if there is none.
    public func removeAttribute(_ name: String) throws {
        checkOpen()
        try H5.deleteAttribute(handle.id, name, location.appending("@" + name))
    }

    /// Attribute `name` as an integer; throws if missing or of another type.
    public func integerAttribute(_ name: String) throws -> Int64 {
        let value = try attribute(name)
        guard let v = value.integerValue else { throw typeMismatch(name, expected: "integer", found: value) }
        return v
    }

    /// Attribute `name` as a double; throws if missing or of another type.
    public func doubleAttribute(_ name: String) throws -> Double {
        let value = try attribute(name)
        guard let v = value.doubleValue else { throw typeMismatch(name, expected: "double", found: value) }
        return v
    }

    /// Attribute `name` as a string; throws if missing or of another type.
    public func stringAttribute(_ name: String) throws -> String {
        let value = try attribute(name)
        guard let v = value.stringValue else { throw typeMismatch(name, expected: "string", found: value) }
        return v
    }

    private func typeMismatch(_ name: String, expected: String, found: HDF5Value) -> HDF5Error {
        HDF5Error(call: "attribute", status: nil, file: file.url.path, object: path + "@" + name,
                  detail: "expected a scalar \(expected), found \(found)")
    }
}
