/// The workbench's version, recorded in every results file.
public enum WorkbenchInfo {
    public static let version = "0.1.0"
}
