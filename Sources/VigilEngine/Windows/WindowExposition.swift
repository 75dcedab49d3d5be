import VigilCore

/// Renders the window gauges of an evaluation as Prometheus text (format 0.0.4). Built once per
/// evaluation from the snapshot, so a scrape computes nothing, and rebuilt from scratch each
/// time, so series of vanished models, versions and windows disappear.
package enum WindowExposition {
    package static func render(_ reports: [MetricsDocument]) -> [UInt8] {
        var byFamily: [String: [UInt8]] = [:]
        for report in reports {
            let base = [("model", report.model), ("version", report.version ?? ""), ("window", report.window)]
            for sample in report.samples() {
                byFamily[sample.family, default: []].append(contentsOf: line(sample, base))
            }
        }
        var out: [UInt8] = []
        // Samples name catalog families (`GaugeFamily` constants), so every line has its HELP.
        for family in WindowGauges.families {
            guard let lines = byFamily[family.name] else { continue }
            out.append(contentsOf: "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) gauge\n".utf8)
            out.append(contentsOf: lines)
        }
        return out
    }

    /// `vigil_compare_verdict` and `vigil_compare_difference` of the watched comparisons.
    package static func render(comparisons: [ComparisonDocument]) -> [UInt8] {
        var byFamily: [String: [UInt8]] = [:]
        for document in comparisons {
            let base = [("model", document.model), ("window", document.window)]
            for sample in document.samples() {
                byFamily[sample.family, default: []].append(contentsOf: line(sample, base))
            }
        }
        var out: [UInt8] = []
        for family in [WindowGauges.compareVerdict, WindowGauges.compareDifference] {
            guard let lines = byFamily[family.name] else { continue }
            out.append(contentsOf: "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) gauge\n".utf8)
            out.append(contentsOf: lines)
        }
        return out
    }

    static func line(_ sample: GaugeSample, _ base: [(String, String)]) -> [UInt8] {
        var line = Array(sample.family.utf8)
        line.append(UInt8(ascii: "{"))
        for (i, (name, value)) in (base + sample.labels).enumerated() {
            if i > 0 { line.append(UInt8(ascii: ",")) }
            line.append(contentsOf: name.utf8)
            line.append(contentsOf: "=\"".utf8)
            escape(value, into: &line)
            line.append(UInt8(ascii: "\""))
        }
        line.append(contentsOf: "} ".utf8)
        line.append(contentsOf: format(sample.value).utf8)
        line.append(UInt8(ascii: "\n"))
        return line
    }

    /// Label values escape backslash, double quote and line feed (exposition format 0.0.4).
    package static func escape(_ value: String, into out: inout [UInt8]) {
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
            case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
            case 0x0A: out.append(contentsOf: "\\n".utf8)
            default: out.append(byte)
            }
        }
    }

    package static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
