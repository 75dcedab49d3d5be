/// Reads `models.<name>.release` (DESIGN §5).
enum ReleaseConfigParser {
    static let keys = ["min_samples", "sequential_tuning", "guardrails", "success", "watch"]
    static let metricKeys = ["metric", "name", "stat", "source", "direction", "margin", "limit"]
    /// What a guardrail or success metric may name.
    static let metrics: Set<String> = [
        "quality_accuracy", "quality_precision", "quality_recall", "quality_mae", "estimated_accuracy",
        "estimated_precision", "estimated_recall", "metric_value", "label_metric_mean",
    ]

    static func read(_ node: ConfigNode, _ path: String, _ r: inout ConfigReader) -> ReleaseConfig {
        var release = ReleaseConfig()
        for (key, value) in r.mapping(node, path, allowed: keys) {
            let p = "\(path).\(key)"
            switch key {
            case "min_samples": if let v = r.int(value, p, in: 1...100_000_000) { release.minSamples = v }
            case "sequential_tuning": if let v = r.int(value, p, in: 10...1_000_000_000) { release.sequentialTuning = v }
            case "guardrails", "success":
                let list = r.sequence(value, p).enumerated().compactMap { index, item in
                    readMetric(item, "\(p)[\(index)]", success: key == "success", &r)
                }
                if key == "guardrails" { release.guardrails = list } else { release.success = list }
            default:
                release.watch = r.sequence(value, p).enumerated().compactMap { index, item in
                    readWatch(item, "\(p)[\(index)]", &r)
                }
            }
        }
        return release
    }

    static func readMetric(_ node: ConfigNode, _ path: String, success: Bool, _ r: inout ConfigReader)
        -> ReleaseMetricConfig?
    {
        let fields = Dictionary(r.mapping(node, path, allowed: metricKeys), uniquingKeysWith: { a, _ in a })
        guard let metricNode = fields["metric"] else {
            r.fail(node, "\(path) needs a metric")
            return nil
        }
        guard let metric = r.string(metricNode, "\(path).metric") else { return nil }
        guard metrics.contains(metric) else {
            r.fail(metricNode, "\(path).metric must be one of \(metrics.sorted().joined(separator: ", "))")
            return nil
        }
        var config = ReleaseMetricConfig(metric: metric)
        if let n = fields["name"] { config.name = r.string(n, "\(path).name") }
        if let n = fields["stat"] {
            config.stat = r.string(n, "\(path).stat")
            if let s = config.stat, !["mean", "p95"].contains(s) { r.fail(n, "\(path).stat must be mean or p95") }
        }
        if let n = fields["source"] {
            config.source = r.string(n, "\(path).source")
            if let s = config.source, !["prediction", "label"].contains(s) {
                r.fail(n, "\(path).source must be prediction or label")
            }
        }
        if let n = fields["direction"] { config.direction = r.oneOf(n, "\(path).direction", MetricDirection.self) }
        if let n = fields["margin"] {
            config.margin = r.double(n, "\(path).margin")
            if let m = config.margin, m < 0 { r.fail(n, "\(path).margin must not be negative") }
        }
        if let n = fields["limit"] { config.limit = r.double(n, "\(path).limit") }
        let custom = metric == "metric_value" || metric == "label_metric_mean"
        if custom && config.name == nil { r.fail(node, "\(path): \(metric) needs the metric's name") }
        if !custom, config.name != nil || config.stat != nil || config.source != nil {
            r.fail(node, "\(path): name, stat and source apply only to metric_value and label_metric_mean")
        }
        if metric == "label_metric_mean", config.stat != nil || config.source != nil {
            r.fail(node, "\(path): label_metric_mean is the label metric's mean (no stat or source)")
        }
        let probe = ComparisonMetricID(
            metric == "label_metric_mean" ? "metric_value" : metric, metricName: config.name,
            source: metric == "label_metric_mean" ? "label" : custom ? config.source ?? "prediction" : nil,
            stat: custom ? config.stat ?? "mean" : nil)
        if config.direction == nil && ComparisonDocument.naturalDirection(probe) == nil {
            r.fail(node, "\(path): give a direction (higher_is_better or lower_is_better) for \(config.name ?? metric)")
        }
        if success && config.limit != nil { r.fail(node, "\(path): a success metric has no limit") }
        return config
    }

    static func readWatch(_ node: ConfigNode, _ path: String, _ r: inout ConfigReader) -> WatchConfig? {
        let fields = Dictionary(
            r.mapping(node, path, allowed: ["baseline", "candidate", "window"]), uniquingKeysWith: { a, _ in a })
        guard let pair = readPair(fields, node, path, &r) else { return nil }
        var window = TimeLength(millis: 3_600_000, text: "1h")
        if let n = fields["window"], let w = r.interval(n, "\(path).window") { window = w }
        guard pair.baseline != pair.candidate else {
            r.fail(node, "\(path): baseline and candidate are the same side")
            return nil
        }
        return WatchConfig(pair: pair, window: window)
    }

    /// The `baseline` and `candidate` sides among a mapping's `fields` (a watch entry or a
    /// comparison rule's `compare`).
    static func readPair(_ fields: [String: ConfigNode], _ node: ConfigNode, _ path: String, _ r: inout ConfigReader)
        -> ComparisonPair?
    {
        var sides: [ComparisonSide] = []
        for key in ["baseline", "candidate"] {
            guard let n = fields[key] else {
                r.fail(node, "\(path) needs \(key)")
                return nil
            }
            guard let text = r.string(n, "\(path).\(key)") else { return nil }
            switch ComparisonSide.parse(text) {
            case .success(let side): sides.append(side)
            case .failure(let e):
                r.fail(n, "\(path).\(key): \(e.message)")
                return nil
            }
        }
        return ComparisonPair(baseline: sides[0], candidate: sides[1])
    }
}
