import Foundation
import Hummingbird
import VigilCore
import VigilEngine
import VigilStats

extension ConsoleController {
    /// The window pages show by default: the configured 1 h window, or the first configured.
    var defaultWindow: TimeLength {
        config.windows.first(where: { $0.millis == 3_600_000 }) ?? config.windows.first
            ?? TimeLength(millis: 3_600_000, text: "1h")
    }

    // MARK: - Overview

    /// Every model's state at a glance, newest problems first: firing alerts (the latest
    /// first), then drift, then the rest by name.
    func overview(_ request: Request, context: AppRequestContext, user: String?) async throws -> Response {
        let window = defaultWindow
        let alerts = active()
        let names = registry.snapshot().keys.sorted()
        var rows: [ConsoleViews.ModelRow] = []
        for name in names {
            let d = try await documents.document(
                model: name, window: window, version: nil, variant: nil, endingAt: nil, now: clock.now)
            let mine = alerts.filter { $0.model == name }
            let firing = mine.filter { $0.state == .firing }
            let pending = mine.count - firing.count
            let (qualityName, qualityValue, interval) = Self.headline(d)
            let drifted = d.features.filter { $0.drift.drifted == true }.count
            let tested = d.features.filter { $0.drift.drifted != nil }.count
            let urgency = firing.map { $0.firedAt ?? $0.activeAt }.max() ?? (drifted > 0 ? 0 : Int64.min)
            rows.append(
                ConsoleViews.ModelRow(
                    name: name, href: Self.modelPath(name), task: d.task.rawValue, predictions: "\(d.predictions)",
                    coverage: ConsoleViews.percent(d.labelCoverage),
                    drifted: tested == 0 ? "–" : "\(drifted) of \(tested)", driftClass: drifted > 0 ? "bad" : "ok",
                    quality: qualityValue.map { "\(qualityName) \(SVGChart.number($0))" } ?? "–",
                    interval: interval, estimated: Self.estimatedHeadline(d),
                    firing: firing.isEmpty ? nil : firing.count, pending: pending > 0 ? pending : nil,
                    problem: !firing.isEmpty || drifted > 0, urgency: urgency))
        }
        rows.sort { ($0.urgency, $1.name) > ($1.urgency, $0.name) }
        let hidden = max(0, rows.count - Self.maxOverviewModels)
        var page = ConsoleViews.Overview(
            chrome: chrome("Models", user: user), window: window.text, models: Array(rows.prefix(Self.maxOverviewModels)))
        page.hasModels = !rows.isEmpty
        page.hidden = hidden > 0 ? hidden : nil
        return html("overview", page)
    }

    /// The quality figure a row leads with: precision for binary models, accuracy for
    /// multiclass, MAE for regression; with its Wilson (or normal) interval.
    static func headline(_ d: MetricsDocument) -> (String, Double?, String?) {
        guard let q = d.quality else { return ("", nil, nil) }
        func interval(_ name: String) -> String? {
            q.intervals.first(where: { $0.name == name }).map { ConsoleViews.interval($0.interval) }
        }
        switch d.task {
        case .binary: return ("precision", q.precision, interval("precision"))
        case .regression: return ("MAE", q.mae, nil)
        default: return ("accuracy", q.accuracy, interval("accuracy"))
        }
    }

    static func estimatedHeadline(_ d: MetricsDocument) -> String {
        guard let e = d.estimated else { return "–" }
        if d.task == .binary, let p = e.precision { return "precision \(SVGChart.number(p))" }
        return e.accuracy.map { "accuracy \(SVGChart.number($0))" } ?? "–"
    }

    // MARK: - Alerts

    func alertsPage(_ request: Request, context: AppRequestContext, user: String?) async throws -> Response {
        let active = active().sorted { ($0.state == .firing ? 0 : 1, -$0.activeAt) < ($1.state == .firing ? 0 : 1, -$1.activeAt) }
        let resolved = try await alertStore.alerts(states: [.resolved], limit: Self.historyLimit)
        var page = ConsoleViews.AlertsPage(
            chrome: chrome("Alerts", user: user), active: active.map(ConsoleViews.alertRow),
            resolved: resolved.map(ConsoleViews.alertRow), historyLimit: Self.historyLimit)
        page.hasActive = !page.active.isEmpty
        page.hasResolved = !page.resolved.isEmpty
        return html("alerts", page)
    }

    // MARK: - Model page

    func modelPage(_ request: Request, context: AppRequestContext, user: String?) async throws -> Response {
        let model = try context.parameters.require("model")
        try registry.requireKnown(model)
        let query = request.uri.queryParameters
        let window = try WindowQuery.window(query["window"].map(String.init), config: config)
        let version = query.nonEmpty("version")
        let now = clock.now
        let d = try await documents.document(
            model: model, window: window, version: version, variant: nil, endingAt: window.millis > documents.retainedSpan ? now : nil,
            now: now)
        let chart = try await history(model: model, window: window, version: version, document: d, now: now)
        let drifted = d.features.filter { $0.drift.drifted == true }.count
        let tested = d.features.filter { $0.drift.drifted != nil }.count
        var page = ConsoleViews.ModelPage(
            chrome: chrome(model, user: user), model: model, task: d.task.rawValue, version: version, window: window.text,
            windows: config.windows.map {
                ConsoleViews.WindowLink(
                    text: $0.text, href: Self.modelPath(model, window: $0.text, version: version),
                    current: $0.text == window.text)
            },
            predictions: "\(d.predictions)", labeled: "\(d.labeled)", coverage: ConsoleViews.percent(d.labelCoverage),
            drifted: tested == 0 ? "–" : "\(drifted) of \(tested)", driftClass: drifted > 0 ? "bad" : "ok",
            qualityCards: Self.qualityCards(d),
            alerts: active().filter { $0.model == model }.map(ConsoleViews.alertRow), qualityChart: chart.quality,
            qualityMetric: chart.metric, hasReference: d.reference != nil, referenceRows: d.reference?.rows,
            features: Self.featureRows(d), confusion: Self.confusion(d),
            calibration: d.ece == nil && d.brier == nil
                ? nil
                : ConsoleViews.Calibration(
                    ece: ConsoleViews.value(d.ece), brier: ConsoleViews.value(d.brier),
                    diagram: SVGChart.reliability(title: "Reliability of \(model)'s confidences", bins: d.reliability)),
            segments: Self.segments(d), metrics: Self.metricRows(d),
            documentHref: "/v1/models/\(Self.percentEncoded(model))/metrics?window=\(window.text)"
                + (version.map { "&version=\(Self.percentEncoded($0))" } ?? ""))
        page.watched = config.model(model).release.watch.map {
            ConsoleViews.WindowLink(
                text: "\($0.pair.baseline) → \($0.pair.candidate)",
                href: Self.comparePath(model, $0.pair, window: $0.window.text), current: false)
        }
        page.hasWatched = !page.watched.isEmpty
        page.metricCharts = chart.metrics
        let versions = (registry.schema(model)?.versions.keys.sorted() ?? []).prefix(Self.maxVersionLinks)
        page.versions =
            [ConsoleViews.WindowLink(text: "all", href: Self.modelPath(model, window: window.text), current: version == nil)]
            + versions.map {
                ConsoleViews.WindowLink(
                    text: $0, href: Self.modelPath(model, window: window.text, version: $0), current: $0 == version)
            }
        page.hasVersions = versions.count > 1 || (versions.count == 1 && versions.first != "default")
        page.hasAlerts = !page.alerts.isEmpty
        page.hasFeatures = !page.features.isEmpty
        page.hasSegments = !page.segments.isEmpty
        page.hasMetrics = !page.metrics.isEmpty
        return html("model", page)
    }

    /// Versions a model page links to.
    static let maxVersionLinks = 50

    /// Custom metrics a model page charts over time (the first by name, prediction then label).
    static let maxMetricCharts = 8

    /// Realized against estimated quality over the last `chartPoints` steps of a sixth of the
    /// window (at least a minute: a 1 h window every 10 minutes over 4 hours), with the realized
    /// value's Wilson interval on the labels; and the mean of each custom metric of `d` over
    /// the same windows. One read of the buckets for all of them, outcomes only.
    func history(model: String, window: TimeLength, version: String?, document d: MetricsDocument, now: Int64)
        async throws -> (quality: String, metric: String, metrics: [ConsoleViews.MetricChart])
    {
        let task = d.task
        let step = max(60_000, window.millis / 6)
        let ends = (0..<Int64(Self.chartPoints)).reversed().map { now - $0 * step }
        let metric = task == .regression ? "MAE" : "accuracy"
        let custom = Array(
            (d.metrics.map { ("prediction", $0.name) } + d.labelMetrics.map { ("label", $0.name) }).prefix(Self.maxMetricCharts))
        let points = try await documents.series(
            model: model, window: window, version: version, variant: nil, endingAt: ends, scope: .outcomes,
            maxMerges: SeriesController.maxMerges(.outcomes), values: { d in
                let i = d.quality?.intervals.first(where: { $0.name == "accuracy" })?.interval
                let quality = [task == .regression ? d.quality?.mae : d.quality?.accuracy, d.estimated?.accuracy, i?.lower, i?.upper]
                let means = custom.map { source, name in
                    (source == "prediction" ? d.metrics : d.labelMetrics).first(where: { $0.name == name })?.summary.mean
                }
                return quality + means
            })
        let realized = SVGChart.Line(name: metric, points: points.map { ($0.t, $0.values[0]) }, cssClass: "realized")
        let estimated = SVGChart.Line(name: "estimated", points: points.map { ($0.t, $0.values[1]) }, cssClass: "estimated")
        let band = SVGChart.Band(
            points: points.compactMap { p in
                guard let lo = p.values[2], let hi = p.values[3] else { return nil }
                return (p.t, lo, hi)
            })
        let svg = SVGChart.timeChart(
            title: "\(metric) of \(model) over time", lines: [realized, estimated], band: band,
            yRange: task == .regression ? nil : 0...1)
        let charts = custom.enumerated().map { k, entry in
            let line = SVGChart.Line(name: entry.1, points: points.map { ($0.t, $0.values[4 + k]) }, cssClass: "realized")
            return ConsoleViews.MetricChart(
                name: entry.1, source: entry.0,
                svg: SVGChart.timeChart(title: "mean \(entry.1) (\(entry.0)) over time", lines: [line]))
        }
        return (svg, metric, charts)
    }

    static func qualityCards(_ d: MetricsDocument) -> [ConsoleViews.Card] {
        guard let q = d.quality else { return [] }
        func card(_ name: String, _ v: Double?) -> ConsoleViews.Card {
            ConsoleViews.Card(
                name: name, value: ConsoleViews.value(v),
                interval: ConsoleViews.interval(q.intervals.first(where: { $0.name == name })?.interval))
        }
        if d.task == .regression { return [card("mae", q.mae), card("rmse", q.rmse), card("r2", q.r2)] }
        var cards = [card("accuracy", q.accuracy)]
        if d.task == .binary { cards += [card("precision", q.precision), card("recall", q.recall), card("f1", q.f1)] }
        return cards
    }

    static func featureRows(_ d: MetricsDocument) -> [ConsoleViews.FeatureRow] {
        let missing = Dictionary(d.missingRatio.map { ($0.feature, $0.ratio) }, uniquingKeysWith: { a, _ in a })
        let outOfRange = Dictionary(d.outOfRangeRatio.map { ($0.feature, $0.ratio) }, uniquingKeysWith: { a, _ in a })
        // Drifted first, then by PSI: what on-call should look at leads.
        let sorted = d.features.sorted {
            ($0.drift.drifted == true ? 1 : 0, $0.drift.psi ?? 0) > ($1.drift.drifted == true ? 1 : 0, $1.drift.psi ?? 0)
        }
        return sorted.prefix(maxFeatures).map { f in
            let test = f.drift.type == .numeric ? f.drift.ks : f.drift.chi2
            return ConsoleViews.FeatureRow(
                name: f.name, type: f.drift.type.rawValue, psi: ConsoleViews.value(f.drift.psi),
                statistic: ConsoleViews.value(test?.statistic), pValue: ConsoleViews.value(test?.pValueAdjusted ?? test?.pValue),
                missing: ConsoleViews.percent(missing[f.name] ?? nil), outOfRange: ConsoleViews.percent(outOfRange[f.name] ?? nil),
                drifted: f.drift.drifted == true,
                histogram: f.drift.bins.map { SVGChart.histogram(title: "\(f.name): reference vs current", bins: $0) } ?? "")
        }
    }

    static func confusion(_ d: MetricsDocument) -> ConsoleViews.Confusion? {
        guard let q = d.quality, !q.confusionLabels.isEmpty, q.confusionMatrix.count == q.confusionLabels.count else {
            return nil
        }
        return ConsoleViews.Confusion(
            labels: q.confusionLabels,
            rows: q.confusionLabels.enumerated().map { i, label in
                ConsoleViews.ConfusionRow(
                    label: label,
                    cells: q.confusionMatrix[i].enumerated().map { ConsoleViews.ConfusionCell(count: $1, diagonal: $0 == i) })
            })
    }

    static func segments(_ d: MetricsDocument) -> [ConsoleViews.Segment] {
        d.fairness.map { s in
            ConsoleViews.Segment(
                name: s.segment, parity: ConsoleViews.value(s.report.gaps.demographicParityDifference),
                odds: ConsoleViews.value(s.report.gaps.equalizedOddsDifference),
                groups: s.report.groups.map { g in
                    // Each rate with its Wilson 95% interval from the group's counts.
                    func rate(_ v: Double?, _ successes: Int?, _ trials: Int?) -> String {
                        guard let v else { return "–" }
                        guard let successes, let trials,
                            let i = HypothesisTests.wilson(successes: successes, trials: trials)
                        else { return SVGChart.number(v) }
                        return "\(SVGChart.number(v)) \(ConsoleViews.interval(i))"
                    }
                    let c = g.report.counters
                    return ConsoleViews.GroupRow(
                        name: g.name, count: g.report.count,
                        selectionRate: rate(g.report.selectionRate, c?.selected, c?.predictions),
                        tpr: rate(g.report.tpr, c?.truePositives, c.map { $0.truePositives + $0.falseNegatives }),
                        fpr: rate(g.report.fpr, c?.falsePositives, c.map { $0.falsePositives + $0.trueNegatives }),
                        precision: rate(g.report.precision, c?.truePositives, c.map { $0.truePositives + $0.falsePositives }))
                })
        }
    }

    static func metricRows(_ d: MetricsDocument) -> [ConsoleViews.MetricRow] {
        let rows = d.metrics.map { ($0.name, "prediction", $0.summary) } + d.labelMetrics.map { ($0.name, "label", $0.summary) }
        return rows.map { name, source, m in
            ConsoleViews.MetricRow(
                name: name, source: source, count: m.count, mean: ConsoleViews.value(m.mean), p50: ConsoleViews.value(m.p50),
                p95: ConsoleViews.value(m.p95), p99: ConsoleViews.value(m.p99))
        }
    }
}
