/// A failed HDF5 operation: which call failed, what it returned, on which file and object.
///
/// Every failure of the store surfaces as this one type — HDF5's own automatic printing of
/// its error stack is switched off, and the innermost and outermost messages of that stack
/// are folded into `detail` instead (e.g. "unable to open file: truncated file: eof = 1024").
/// Checks the store makes itself (a dataset that is not Float32, a missing completeness marker)
/// use the name of the store operation as `call` and have no `status`.
public struct HDF5Error: Error, CustomStringConvertible, Sendable {
    /// The HDF5 C function (e.g. "H5Fopen") or the store operation (e.g. "readTensor").
    public var call: String
    /// The negative status or invalid handle the call returned; nil for the store's own checks.
    public var status: Int64?
    /// Path of the file being worked on.
    public var file: String
    /// Path of the object inside the file (group, dataset or attribute), when there is one.
    public var object: String?
    /// HDF5's error-stack message or the store's reason.
    public var detail: String

    public init(call: String, status: Int64?, file: String, object: String?, detail: String) {
        self.call = call
        self.status = status
        self.file = file
        self.object = object
        self.detail = detail
    }

    public var description: String {
        var text = "HDF5 error: \(call)"
        if let status { text += " returned \(status)" } else { text += " failed" }
        text += " for file '\(file)'"
        if let object { text += ", object '\(object)'" }
        if !detail.isEmpty { text += ": \(detail)" }
        return text
    }
}
