import Foundation

/// A standalone SVG image built element by element: the drawing surface of every report figure.
/// Coordinates are user units (1 unit = 1 CSS pixel at the stated width); text is escaped; the
/// output carries `xmlns`, `viewBox`, a `<title>` for screen readers, and no script or external
/// reference, so it can be inlined into HTML or saved as a `.svg` file for a paper.
public struct SVGDocument: Sendable {
    public let width: Double
    public let height: Double
    public let title: String
    private var body: [String] = []

    public init(width: Double, height: Double, title: String) {
        self.width = width; self.height = height; self.title = title
    }

    /// `&`, `<`, `>`, `"` as entities.
    public static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }

    /// A number with at most two decimals, no trailing zeros: keeps files small and diffs stable.
    static func coordinate(_ x: Double) -> String {
        guard x.isFinite else { return "0" }
        let rounded = (x * 100).rounded() / 100
        if rounded == rounded.rounded() { return String(Int(rounded)) }
        return String(format: "%.2f", rounded).replacingOccurrences(of: "0+$", with: "", options: .regularExpression)
    }

    public mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double,
                              stroke: String = "#000", width: Double = 1, dash: String? = nil) {
        let c = Self.coordinate
        body.append("<line x1=\"\(c(x1))\" y1=\"\(c(y1))\" x2=\"\(c(x2))\" y2=\"\(c(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(c(width))\"\(dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")/>")
    }

    public mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double,
                              fill: String, stroke: String? = nil, opacity: Double? = nil, tooltip: String? = nil) {
        let c = Self.coordinate
        let attributes = "x=\"\(c(x))\" y=\"\(c(y))\" width=\"\(c(max(w, 0)))\" height=\"\(c(max(h, 0)))\" fill=\"\(fill)\""
            + (stroke.map { " stroke=\"\($0)\"" } ?? "") + (opacity.map { " fill-opacity=\"\(c($0))\"" } ?? "")
        if let tooltip {
            body.append("<rect \(attributes)><title>\(Self.escaped(tooltip))</title></rect>")
        } else {
            body.append("<rect \(attributes)/>")
        }
    }

    /// An open polyline through `points` (no fill).
    public mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 1.5, dash: String? = nil) {
        guard points.count > 1 else { return }
        let c = Self.coordinate
        let list = points.map { "\(c($0.0)),\(c($0.1))" }.joined(separator: " ")
        body.append("<polyline points=\"\(list)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(c(width))\" stroke-linejoin=\"round\"\(dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")/>")
    }

    /// A closed, filled polygon (e.g. a band between two curves).
    public mutating func polygon(_ points: [(Double, Double)], fill: String, opacity: Double) {
        guard points.count > 2 else { return }
        let c = Self.coordinate
        let list = points.map { "\(c($0.0)),\(c($0.1))" }.joined(separator: " ")
        body.append("<polygon points=\"\(list)\" fill=\"\(fill)\" fill-opacity=\"\(c(opacity))\" stroke=\"none\"/>")
    }

    public enum Anchor: String, Sendable { case start, middle, end }

    public mutating func text(_ string: String, x: Double, y: Double, anchor: Anchor = .start, size: Double = 12,
                              weight: String? = nil, fill: String = "#000", rotate: Double? = nil) {
        let c = Self.coordinate
        let transform = rotate.map { " transform=\"rotate(\(c($0)) \(c(x)) \(c(y)))\"" } ?? ""
        body.append("<text x=\"\(c(x))\" y=\"\(c(y))\" font-size=\"\(c(size))\" text-anchor=\"\(anchor.rawValue)\" fill=\"\(fill)\"\(weight.map { " font-weight=\"\($0)\"" } ?? "")\(transform)>\(Self.escaped(string))</text>")
    }

    /// A marker of `shape` centred on (x, y): filled shapes and open ones, so series stay apart in grayscale.
    public mutating func marker(_ shape: MarkerShape, x: Double, y: Double, size: Double = 7, colour: String, tooltip: String? = nil) {
        let c = Self.coordinate
        let r = size / 2
        let element: String
        switch shape {
        case .circle: element = "<circle cx=\"\(c(x))\" cy=\"\(c(y))\" r=\"\(c(r))\" fill=\"\(colour)\""
        case .openCircle: element = "<circle cx=\"\(c(x))\" cy=\"\(c(y))\" r=\"\(c(r))\" fill=\"#fff\" stroke=\"\(colour)\" stroke-width=\"1.5\""
        case .square: element = "<rect x=\"\(c(x - r))\" y=\"\(c(y - r))\" width=\"\(c(size))\" height=\"\(c(size))\" fill=\"\(colour)\""
        case .openSquare: element = "<rect x=\"\(c(x - r))\" y=\"\(c(y - r))\" width=\"\(c(size))\" height=\"\(c(size))\" fill=\"#fff\" stroke=\"\(colour)\" stroke-width=\"1.5\""
        case .triangle: element = "<path d=\"M\(c(x)) \(c(y - r * 1.2))L\(c(x + r * 1.1)) \(c(y + r * 0.8))L\(c(x - r * 1.1)) \(c(y + r * 0.8))Z\" fill=\"\(colour)\""
        case .diamond: element = "<path d=\"M\(c(x)) \(c(y - r * 1.3))L\(c(x + r)) \(c(y))L\(c(x)) \(c(y + r * 1.3))L\(c(x - r)) \(c(y))Z\" fill=\"\(colour)\""
        case .cross: element = "<path d=\"M\(c(x - r)) \(c(y - r))L\(c(x + r)) \(c(y + r))M\(c(x - r)) \(c(y + r))L\(c(x + r)) \(c(y - r))\" stroke=\"\(colour)\" stroke-width=\"2\" fill=\"none\""
        case .plus: element = "<path d=\"M\(c(x - r)) \(c(y))L\(c(x + r)) \(c(y))M\(c(x)) \(c(y - r))L\(c(x)) \(c(y + r))\" stroke=\"\(colour)\" stroke-width=\"2\" fill=\"none\""
        }
        if let tooltip {
            body.append(element + "><title>\(Self.escaped(tooltip))</title>" + (shape.isPath ? "</path>" : shape.isRect ? "</rect>" : "</circle>"))
        } else {
            body.append(element + "/>")
        }
    }

    /// The image: `<svg>` with its title first, then the elements in drawing order.
    public func rendered() -> String {
        let c = Self.coordinate
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(c(width))\" height=\"\(c(height))\" viewBox=\"0 0 \(c(width)) \(c(height))\" role=\"img\" font-family=\"Helvetica, Arial, sans-serif\">\n"
            + "<title>\(Self.escaped(title))</title>\n"
            + "<rect x=\"0\" y=\"0\" width=\"\(c(width))\" height=\"\(c(height))\" fill=\"#fff\"/>\n"
            + body.joined(separator: "\n") + "\n</svg>\n"
    }
}

/// Marker shapes, cycled through with the colours so that no two series differ in colour alone.
public enum MarkerShape: CaseIterable, Sendable {
    case circle, square, triangle, diamond, openCircle, openSquare, cross, plus

    var isPath: Bool { self == .triangle || self == .diamond || self == .cross || self == .plus }
    var isRect: Bool { self == .square || self == .openSquare }
}
