import VigilCore
import VigilStats

/// What the console's templates render: plain values, formatted here, so templates hold no logic
/// beyond sections. Mustache escapes every `{{value}}`; only the SVG fields (built by `SVGChart`,
/// which escapes user text itself) are inserted raw.
enum ConsoleViews {
    /// Fields the header and footer of every page read.
    struct Chrome {
        var title: String
        var firingCount: Int?
        var signedIn: String?
        var renderedAt: String
    }

    struct Overview {
        var chrome: Chrome
        var window: String
        var models: [ModelRow]
        var hasModels = false
        /// Models past the overview's bound (the least urgent), not listed.
        var hidden: Int?
    }

    struct ModelRow {
        var name: String
        var href: String
        var task: String
        var predictions: String
        var coverage: String
        var drifted: String
        var driftClass: String
        var quality: String
        var interval: String?
        var estimated: String
        var firing: Int?
        var pending: Int?
        var problem: Bool
        /// Newest problem first: the last firing instant, or a drift, sorts the row.
        var urgency: Int64
    }

    struct ModelPage {
        var chrome: Chrome
        var model: String
        var task: String
        var version: String?
        var window: String
        var windows: [WindowLink]
        var watched: [WindowLink] = []
        var hasWatched = false
        var versions: [WindowLink] = []
        var hasVersions = false
        var metricCharts: [MetricChart] = []
        var predictions: String
        var labeled: String
        var coverage: String
        var drifted: String
        var driftClass: String
        var qualityCards: [Card]
        var alerts: [AlertRow]
        var qualityChart: String
        var qualityMetric: String
        var hasReference: Bool
        var referenceRows: Int?
        var features: [FeatureRow]
        var confusion: Confusion?
        var calibration: Calibration?
        var segments: [Segment]
        var metrics: [MetricRow]
        var documentHref: String
        var hasAlerts = false
        var hasFeatures = false
        var hasSegments = false
        var hasMetrics = false
    }

    struct WindowLink {
        var text: String
        var href: String
        var current: Bool
    }

    struct Card {
        var name: String
        var value: String
        var interval: String
    }

    struct FeatureRow {
        var name: String
        var type: String
        var psi: String
        var statistic: String
        var pValue: String
        var missing: String
        var outOfRange: String
        var drifted: Bool
        var histogram: String
    }

    struct Confusion {
        var labels: [String]
        var rows: [ConfusionRow]
    }

    struct ConfusionRow {
        var label: String
        var cells: [ConfusionCell]
    }

    struct ConfusionCell {
        var count: Int
        var diagonal: Bool
    }

    struct Calibration {
        var ece: String
        var brier: String
        var diagram: String
    }

    struct Segment {
        var name: String
        var parity: String
        var odds: String
        var groups: [GroupRow]
    }

    struct GroupRow {
        var name: String
        var count: Int
        var selectionRate: String
        var tpr: String
        var fpr: String
        var precision: String
    }

    struct MetricChart {
        var name: String
        var source: String
        var svg: String
    }

    struct MetricRow {
        var name: String
        var source: String
        var count: Int
        var mean: String
        var p50: String
        var p95: String
        var p99: String
    }

    struct AlertsPage {
        var chrome: Chrome
        var active: [AlertRow]
        var resolved: [AlertRow]
        var historyLimit: Int
        var hasActive = false
        var hasResolved = false
    }

    struct AlertRow {
        var name: String
        var model: String
        var modelHref: String
        var state: String
        var stateClass: String
        var value: String
        var labels: String
        var summary: String
        var since: String
        var resolvedAt: String
    }

    struct Login {
        var chrome: Chrome
        var next: String
        var error: String?
    }

    // MARK: - Formatting

    static func value(_ v: Double?) -> String { v.map(SVGChart.number) ?? "–" }
    static func percent(_ v: Double?) -> String { v.map(SVGChart.percent) ?? "–" }
    static func interval(_ i: Interval95?) -> String {
        guard let i else { return "" }
        return "[\(SVGChart.number(i.lower)), \(SVGChart.number(i.upper))]"
    }

    static func time(_ ms: Int64?) -> String {
        guard let ms else { return "" }
        return String(Timestamp.format(ms).prefix(19)).replacingOccurrences(of: "T", with: " ")
    }

    static func alertRow(_ a: Alert) -> AlertRow {
        let shown = a.labels.filter { !["alertname", "model", "severity"].contains($0.key) }
        return AlertRow(
            name: a.rule, model: a.model, modelHref: ConsoleController.modelPath(a.model, window: a.annotations["window"]),
            state: a.state.rawValue,
            stateClass: a.state == .firing ? "bad" : a.state == .pending ? "warn" : "ok",
            value: SVGChart.number(a.value),
            labels: shown.keys.sorted().map { "\($0)=\(shown[$0]!)" }.joined(separator: " "),
            summary: a.annotations["summary"] ?? "", since: time(a.firedAt ?? a.activeAt), resolvedAt: time(a.resolvedAt))
    }
}
