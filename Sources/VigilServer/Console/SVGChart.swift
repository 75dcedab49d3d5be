import Foundation
import Mustache
import VigilCore

/// Charts drawn on the server as inline SVG, so console pages need no JavaScript and render the
/// same in every browser and test. Every user-supplied string is escaped here: templates insert
/// the markup unescaped.
enum SVGChart {
    /// One line of a time chart; `nil` values break the line.
    struct Line {
        var name: String
        var points: [(t: Int64, value: Double?)]
        var cssClass: String
    }

    /// A band (a confidence interval) drawn under the lines.
    struct Band {
        var points: [(t: Int64, lower: Double, upper: Double)]
    }

    static let width = 640.0
    static let height = 200.0
    static let margin = (left: 44.0, right: 12.0, top: 10.0, bottom: 26.0)

    /// Lines over time on a shared y axis (`yRange` when given, else the data's span).
    static func timeChart(title: String, lines: [Line], band: Band? = nil, yRange: ClosedRange<Double>? = nil) -> String {
        let times = lines.flatMap { $0.points.map(\.t) } + (band?.points.map(\.t) ?? [])
        let values = lines.flatMap { $0.points.compactMap(\.value) } + (band?.points.flatMap { [$0.lower, $0.upper] } ?? [])
        guard let t0 = times.min(), let t1 = times.max() else { return empty(title) }
        var low = yRange?.lowerBound ?? values.min() ?? 0
        var high = yRange?.upperBound ?? values.max() ?? 1
        if high - low < 1e-12 { (low, high) = (low - 0.5, high + 0.5) }
        let plotW = width - margin.left - margin.right
        let plotH = height - margin.top - margin.bottom
        func x(_ t: Int64) -> Double { margin.left + (t1 == t0 ? plotW / 2 : Double(t - t0) / Double(t1 - t0) * plotW) }
        func y(_ v: Double) -> Double { margin.top + (1 - (min(max(v, low), high) - low) / (high - low)) * plotH }
        var out = open(title)
        for tick in 0...4 {
            let v = low + (high - low) * Double(tick) / 4
            out += "<line class=\"grid\" x1=\"\(f(margin.left))\" x2=\"\(f(width - margin.right))\" y1=\"\(f(y(v)))\" y2=\"\(f(y(v)))\"/>"
            out += "<text class=\"tick\" x=\"\(f(margin.left - 4))\" y=\"\(f(y(v) + 4))\" text-anchor=\"end\">\(number(v))</text>"
        }
        for (t, anchor) in [(t0, "start"), (t1, "end")] {
            out += "<text class=\"tick\" x=\"\(f(x(t)))\" y=\"\(f(height - 8))\" text-anchor=\"\(anchor)\">\(escape(clock(t)))</text>"
        }
        if let band, !band.points.isEmpty {
            let upper = band.points.map { "\(f(x($0.t))),\(f(y($0.upper)))" }
            let lower = band.points.reversed().map { "\(f(x($0.t))),\(f(y($0.lower)))" }
            out += "<polygon class=\"band\" points=\"\((upper + lower).joined(separator: " "))\"><title>95% interval</title></polygon>"
        }
        for line in lines {
            var segment: [String] = []
            func flush() {
                if segment.count == 1 {
                    let xy = segment[0].split(separator: ",")
                    out += "<circle class=\"\(line.cssClass)\" cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"2.5\"/>"
                } else if segment.count > 1 {
                    out += "<polyline class=\"\(line.cssClass)\" points=\"\(segment.joined(separator: " "))\"/>"
                }
                segment = []
            }
            for p in line.points {
                if let v = p.value, v.isFinite { segment.append("\(f(x(p.t))),\(f(y(v)))") } else { flush() }
            }
            flush()
        }
        return out + "</svg>"
    }

    /// Reference and current shares side by side on the drift bins.
    static func histogram(title: String, bins original: DriftBins) -> String {
        let bins = pooled(original, keep: maxCategories)
        let refTotal = Double(max(1, bins.reference.reduce(0, +)))
        let curTotal = Double(max(1, bins.current.reduce(0, +)))
        let count = bins.reference.count
        guard count > 0, bins.current.count == count else { return empty(title) }
        let ref = bins.reference.map { Double($0) / refTotal }
        let cur = bins.current.map { Double($0) / curTotal }
        let top = max(0.01, (ref + cur).max() ?? 1)
        let w = 300.0
        let h = 120.0
        let plotH = h - 30
        let slot = (w - 8) / Double(count)
        var out = "<svg class=\"hist\" viewBox=\"0 0 \(f(w)) \(f(h))\" role=\"img\" aria-label=\"\(escape(title))\"><title>\(escape(title))</title>"
        for i in 0..<count {
            let x0 = 4 + Double(i) * slot
            let label = binLabel(bins, i)
            for (k, share) in [ref[i], cur[i]].enumerated() {
                let bh = share / top * plotH
                let cls = k == 0 ? "ref" : "cur"
                out += "<rect class=\"\(cls)\" x=\"\(f(x0 + 1 + Double(k) * (slot - 2) / 2))\" y=\"\(f(6 + plotH - bh))\" width=\"\(f(max(0.5, (slot - 2) / 2 - 0.5)))\" height=\"\(f(bh))\">"
                out += "<title>\(escape(label)): \(k == 0 ? "reference" : "current") \(percent(share))</title></rect>"
            }
        }
        if let first = bins.edges.first, let last = bins.edges.last {
            out += "<text class=\"tick\" x=\"\(f(4 + slot))\" y=\"\(f(h - 10))\" text-anchor=\"middle\">\(number(first))</text>"
            out += "<text class=\"tick\" x=\"\(f(4 + Double(count - 1) * slot))\" y=\"\(f(h - 10))\" text-anchor=\"middle\">\(number(last))</text>"
        } else if count <= 8 {
            for i in 0..<count {
                let label = String(binLabel(bins, i).prefix(8))
                out += "<text class=\"tick\" x=\"\(f(4 + (Double(i) + 0.5) * slot))\" y=\"\(f(h - 10))\" text-anchor=\"middle\">\(escape(label))</text>"
            }
        }
        return out + "</svg>"
    }

    /// A reliability diagram: each probability bin's observed positive rate against its mean
    /// predicted probability, the diagonal being perfect calibration; a point's area follows
    /// its share of the predictions.
    static func reliability(title: String, bins: [ReliabilityBin]) -> String {
        guard !bins.isEmpty else { return empty(title) }
        let size = 220.0
        let pad = 28.0
        let plot = size - pad - 8
        func x(_ p: Double) -> Double { pad + min(max(p, 0), 1) * plot }
        func y(_ r: Double) -> Double { 8 + (1 - min(max(r, 0), 1)) * plot }
        let total = Double(bins.map(\.count).reduce(0, +))
        var out = "<svg class=\"reliability\" viewBox=\"0 0 \(f(size)) \(f(size))\" role=\"img\" aria-label=\"\(escape(title))\"><title>\(escape(title))</title>"
        out += "<rect class=\"frame\" x=\"\(f(pad))\" y=\"8\" width=\"\(f(plot))\" height=\"\(f(plot))\"/>"
        out += "<line class=\"diagonal\" x1=\"\(f(x(0)))\" y1=\"\(f(y(0)))\" x2=\"\(f(x(1)))\" y2=\"\(f(y(1)))\"/>"
        for v in [0.0, 0.5, 1.0] {
            out += "<text class=\"tick\" x=\"\(f(x(v)))\" y=\"\(f(size - 10))\" text-anchor=\"middle\">\(number(v))</text>"
            out += "<text class=\"tick\" x=\"\(f(pad - 4))\" y=\"\(f(y(v) + 3))\" text-anchor=\"end\">\(number(v))</text>"
        }
        out += "<polyline class=\"realized\" points=\"\(bins.map { "\(f(x($0.meanProbability))),\(f(y($0.observedRate)))" }.joined(separator: " "))\"/>"
        for b in bins {
            let r = 2 + 6 * (Double(b.count) / max(total, 1)).squareRoot()
            out += "<circle class=\"realized\" cx=\"\(f(x(b.meanProbability)))\" cy=\"\(f(y(b.observedRate)))\" r=\"\(f(r))\">"
            out += "<title>confidence [\(number(b.lower)), \(number(b.upper))): \(b.count) predictions, mean \(number(b.meanProbability)), observed \(number(b.observedRate))</title></circle>"
        }
        return out + "</svg>"
    }

    /// Categories a histogram draws: the largest by share on either side; the rest pooled.
    static let maxCategories = 12

    /// `bins` with at most `keep` categories: the ones with the largest share on either side,
    /// in their order, then one bin pooling the others (numeric bins are left alone).
    static func pooled(_ bins: DriftBins, keep: Int) -> DriftBins {
        guard !bins.labels.isEmpty, bins.labels.count > keep + 1, bins.reference.count == bins.labels.count,
            bins.current.count == bins.labels.count
        else { return bins }
        let refTotal = Double(max(1, bins.reference.reduce(0, +)))
        let curTotal = Double(max(1, bins.current.reduce(0, +)))
        let share = bins.labels.indices.map { max(Double(bins.reference[$0]) / refTotal, Double(bins.current[$0]) / curTotal) }
        let kept = Set(bins.labels.indices.sorted { (share[$0], -$0) > (share[$1], -$1) }.prefix(keep))
        var out = DriftBins(labels: [], reference: [], current: [])
        var rest = (reference: 0, current: 0)
        for i in bins.labels.indices {
            if kept.contains(i) {
                out.labels.append(bins.labels[i])
                out.reference.append(bins.reference[i])
                out.current.append(bins.current[i])
            } else {
                rest.reference += bins.reference[i]
                rest.current += bins.current[i]
            }
        }
        out.labels.append("(\(bins.labels.count - keep) others)")
        out.reference.append(rest.reference)
        out.current.append(rest.current)
        return out
    }

    static func binLabel(_ bins: DriftBins, _ i: Int) -> String {
        if !bins.labels.isEmpty { return i < bins.labels.count ? bins.labels[i] : "" }
        let e = bins.edges
        if e.isEmpty { return "all" }
        if i == 0 { return "≤ \(number(e[0]))" }
        if i >= e.count { return "> \(number(e[e.count - 1]))" }
        return "(\(number(e[i - 1])), \(number(e[i]))]"
    }

    private static func open(_ title: String) -> String {
        "<svg class=\"chart\" viewBox=\"0 0 \(f(width)) \(f(height))\" role=\"img\" aria-label=\"\(escape(title))\"><title>\(escape(title))</title>"
    }

    private static func empty(_ title: String) -> String {
        open(title) + "<text class=\"tick\" x=\"\(f(width / 2))\" y=\"\(f(height / 2))\" text-anchor=\"middle\">no data</text></svg>"
    }

    // MARK: - Formatting

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    /// A value for a tick or a table: at most four significant digits.
    static func number(_ v: Double) -> String {
        guard v.isFinite else { return "–" }
        if v != 0, abs(v) < 0.001 || abs(v) >= 100_000 { return String(format: "%.2e", v) }
        return String(format: "%.4g", v)
    }

    static func percent(_ v: Double) -> String { String(format: "%.1f%%", v * 100) }

    /// `HH:mm` UTC, with the date when the chart spans days (the caller cannot know).
    static func clock(_ ms: Int64) -> String {
        String(Timestamp.format(ms).dropFirst(5).prefix(11)).replacingOccurrences(of: "T", with: " ")
    }

    /// Text and attribute values: `&`, `<`, `>`, `"` and `'` escaped, scalar by scalar. (By
    /// `Character` a quote followed by a combining mark is one grapheme that is not `"`, and it
    /// would pass raw: the flaw of CVE-2026-27120.)
    static func escape(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out.append(contentsOf: "&amp;".unicodeScalars)
            case "<": out.append(contentsOf: "&lt;".unicodeScalars)
            case ">": out.append(contentsOf: "&gt;".unicodeScalars)
            case "\"": out.append(contentsOf: "&quot;".unicodeScalars)
            case "'": out.append(contentsOf: "&#39;".unicodeScalars)
            default: out.append(scalar)
            }
        }
        return String(out)
    }
}

/// The console's Mustache content type: HTML escaping scalar by scalar (`SVGChart.escape`), in
/// place of swift-mustache's `HTML`, which escapes by `Character` and so lets a quote followed
/// by a combining mark through. Every console template selects it with
/// `{{% CONTENT_TYPE: VIGIL_HTML}}`.
struct ScalarHTMLContentType: MustacheContentType {
    static let name = "VIGIL_HTML"
    func escapeText(_ text: String) -> String { SVGChart.escape(text) }
}
