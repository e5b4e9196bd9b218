import Foundation

/// Colours, markers and dashes of the report's figures.
///
/// Categorical series cycle through Okabe & Ito's colour-blind-safe palette (2008) *together*
/// with a marker shape and a dash pattern, so two series never differ in colour alone and stay
/// apart when printed in grayscale. Continuous values use viridis (van der Walt & Smith 2015),
/// whose lightness rises monotonically, so a heatmap reads the same in grayscale.
public struct SeriesStyle: Sendable, Equatable {
    public let colour: String
    public let marker: MarkerShape
    /// SVG `stroke-dasharray`, nil for a solid line.
    public let dash: String?

    static let colours = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999933"]
    static let dashes: [String?] = [nil, "6 3", "2 2", "8 3 2 3", nil, "4 4", "1 3", "10 4"]

    /// The style of the `index`-th series.
    public static func at(_ index: Int) -> SeriesStyle {
        let i = index % colours.count
        let round = index / colours.count
        return SeriesStyle(colour: colours[i], marker: MarkerShape.allCases[(i + round) % MarkerShape.allCases.count],
                           dash: dashes[(i + round) % dashes.count])
    }
}

public enum Viridis {
    /// Viridis at 0, 0.125, …, 1 (matplotlib's table, rounded to 8-bit).
    static let anchors: [(Double, Double, Double)] = [
        (68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
        (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37),
    ]

    /// `#rrggbb` for t in [0, 1] (clamped), linearly interpolated between the anchors.
    public static func colour(_ t: Double) -> String {
        let x = min(max(t.isFinite ? t : 0, 0), 1) * Double(anchors.count - 1)
        let i = min(Int(x), anchors.count - 2)
        let f = x - Double(i)
        let (a, b) = (anchors[i], anchors[i + 1])
        func channel(_ p: Double, _ q: Double) -> Int { Int((p + (q - p) * f).rounded()) }
        return String(format: "#%02x%02x%02x", channel(a.0, b.0), channel(a.1, b.1), channel(a.2, b.2))
    }

    /// Relative luminance-style lightness of `colour(t)` (Rec. 709 weights), for choosing text colour.
    public static func lightness(_ t: Double) -> Double {
        let hex = colour(t).dropFirst()
        let value = Int(hex, radix: 16) ?? 0
        let (r, g, b) = (Double((value >> 16) & 255), Double((value >> 8) & 255), Double(value & 255))
        return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255
    }
}
