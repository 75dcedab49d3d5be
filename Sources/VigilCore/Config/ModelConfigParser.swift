/// Reads one `models.<name>` block.
enum ModelConfigParser {
    static let keys = ["task", "positive_class", "features", "ranges", "segments", "reference", "label_ttl", "drift", "release"]

    static func read(_ node: ConfigNode, _ path: String, _ r: inout ConfigReader) -> ModelConfig {
        var model = ModelConfig()
        for (key, value) in r.mapping(node, path, allowed: keys) {
            let p = "\(path).\(key)"
            switch key {
            case "task": model.task = r.oneOf(value, p, ModelTask.self)
            case "positive_class": model.positiveClass = r.string(value, p)
            case "features":
                for (name, typeNode) in r.mapping(value, p) {
                    if let t = r.oneOf(typeNode, "\(p).\(name)", FeatureType.self) { model.features[name] = t }
                }
            case "ranges": readRanges(value, p, &model, &r)
            case "segments":
                for (index, item) in r.sequence(value, p).enumerated() {
                    let names = r.strings(item, "\(p)[\(index)]")
                    if names.isEmpty { r.fail(item, "\(p)[\(index)] must name a segment attribute") }
                    if Set(names).count != names.count { r.fail(item, "\(p)[\(index)] repeats an attribute") }
                    if model.segments.contains(names) { r.fail(item, "\(p)[\(index)] is listed twice") }
                    if !names.isEmpty { model.segments.append(names) }
                }
            case "reference":
                for (rk, rv) in r.mapping(value, p, allowed: ["first"]) where rk == "first" {
                    if let v = r.int(rv, "\(p).first", in: 1...10_000_000) { model.referenceFirst = v }
                }
            case "label_ttl": if let v = r.interval(value, p) { model.labelTTL = v }
            case "release": model.release = ReleaseConfigParser.read(value, p, &r)
            default: readDrift(value, p, &model, &r)
            }
        }
        if model.positiveClass != nil, let task = model.task, task != .binary {
            r.fail(node, "\(path): positive_class applies only to task: binary")
        }
        for (feature, type) in model.features where type == .categorical && model.ranges[feature] != nil {
            r.fail(node, "\(path): ranges.\(feature) is given for a categorical feature")
        }
        return model
    }

    private static func readRanges(
        _ node: ConfigNode, _ path: String, _ model: inout ModelConfig, _ r: inout ConfigReader
    ) {
        for (name, rangeNode) in r.mapping(node, path) {
            let bounds = r.sequence(rangeNode, "\(path).\(name)")
            guard bounds.count == 2 else {
                r.fail(rangeNode, "\(path).\(name) must be [min, max]")
                continue
            }
            guard let low = r.double(bounds[0], "\(path).\(name)[0]"),
                let high = r.double(bounds[1], "\(path).\(name)[1]")
            else { continue }
            guard low <= high else {
                r.fail(rangeNode, "\(path).\(name): min \(low) is greater than max \(high)")
                continue
            }
            model.ranges[name] = low...high
        }
    }

    private static func readDrift(
        _ node: ConfigNode, _ path: String, _ model: inout ModelConfig, _ r: inout ConfigReader
    ) {
        for (key, value) in r.mapping(node, path, allowed: ["alpha", "psi", "js_distance", "fine_bins"]) {
            if key == "fine_bins" {
                if let on = r.bool(value, "\(path).fine_bins") { model.driftFineBins = on }
                continue
            }
            guard let v = r.double(value, "\(path).\(key)") else { continue }
            switch key {
            case "alpha":
                if v <= 0 || v >= 1 {
                    r.fail(value, "\(path).alpha must be between 0 and 1")
                } else {
                    model.driftAlpha = v
                }
            case "psi":
                if v < 0 { r.fail(value, "\(path).psi must not be negative") } else { model.driftPSI = v }
            default:
                if v < 0 || v > 1 {
                    r.fail(value, "\(path).js_distance must be between 0 and 1")
                } else {
                    model.driftJS = v
                }
            }
        }
    }
}

/// Reads one entry of `alerts`.
enum AlertRuleParser {
    static let keys = [
        "name", "model", "metric", "op", "threshold", "window", "for", "min_samples", "severity",
        "notify", "feature", "class", "segment", "group", "stat", "metric_name", "source", "labels", "summary",
        "description", "compare", "verdict", "version", "variant",
    ]
    /// Selectors narrow the metric's series; `metric_name` names the custom metric of `metric_value`.
    static let selectorKeys: Set<String> = [
        "feature", "class", "segment", "group", "stat", "metric_name", "source", "version", "variant",
    ]

    static func read(_ node: ConfigNode, _ path: String, _ r: inout ConfigReader) -> AlertRuleConfig? {
        let fields = Dictionary(r.mapping(node, path, allowed: keys), uniquingKeysWith: { a, _ in a })
        if fields["compare"] != nil { return readComparisonRule(node, path, fields, &r) }
        let required = ["name", "metric", "op", "threshold", "window"]
        let missing = required.filter { fields[$0] == nil }
        guard missing.isEmpty else {
            r.fail(node, "\(path) needs \(missing.joined(separator: ", "))")
            return nil
        }
        guard let name = r.string(fields["name"]!, "\(path).name"),
            let metric = r.string(fields["metric"]!, "\(path).metric"),
            let op = r.oneOf(fields["op"]!, "\(path).op", ComparisonOp.self),
            let threshold = r.double(fields["threshold"]!, "\(path).threshold"),
            let window = r.interval(fields["window"]!, "\(path).window")
        else { return nil }
        if !AlertMetric.known.contains(metric) {
            r.fail(
                fields["metric"]!,
                "\(path).metric: unknown metric '\(metric)' (use a DESIGN §6 family without the vigil_ prefix)")
        }
        if fields["verdict"] != nil { r.fail(node, "\(path): verdict applies only to a rule with compare") }
        if metric == WindowGauges.compareVerdict.ruleName {
            r.fail(fields["metric"]!, "\(path): a comparison rule takes compare: {baseline, candidate} and verdict:")
        }
        var rule = AlertRuleConfig(name: name, metric: metric, op: op, threshold: threshold, window: window)
        readCommon(fields, path, &rule, &r)
        if metric == "metric_value", rule.selectors["stat"] == nil {
            r.fail(node, "\(path): metric_value needs stat (mean, sum, p50, p95 or p99)")
        }
        if metric == GaugeFamily.segmentMetricValue.ruleName, rule.selectors["stat"] == nil {
            r.fail(node, "\(path): segment_metric_value needs stat (mean or sum)")
        }
        return rule
    }

    /// `{name, model, compare: {baseline, candidate}, verdict, window, …}`: fires while the
    /// comparison's verdict is `verdict` (a `promote` verdict only when not provisional).
    static func readComparisonRule(
        _ node: ConfigNode, _ path: String, _ fields: [String: ConfigNode], _ r: inout ConfigReader
    ) -> AlertRuleConfig? {
        let missing = ["name", "model", "verdict", "window"].filter { fields[$0] == nil }
        guard missing.isEmpty else {
            r.fail(node, "\(path) (a comparison rule) needs \(missing.joined(separator: ", "))")
            return nil
        }
        for key in ["metric", "op", "threshold"] + Array(selectorKeys) where fields[key] != nil {
            r.fail(fields[key]!, "\(path).\(key) does not apply to a comparison rule")
        }
        guard let name = r.string(fields["name"]!, "\(path).name"),
            let verdict = r.oneOf(fields["verdict"]!, "\(path).verdict", ReleaseVerdict.self),
            let window = r.interval(fields["window"]!, "\(path).window"),
            let pair = ReleaseConfigParser.readPair(
                Dictionary(
                    r.mapping(fields["compare"]!, "\(path).compare", allowed: ["baseline", "candidate"]),
                    uniquingKeysWith: { a, _ in a }), fields["compare"]!, "\(path).compare", &r)
        else { return nil }
        var rule = AlertRuleConfig(name: name, metric: "compare_verdict", op: .equal, threshold: 1, window: window)
        rule.compare = pair
        rule.verdict = verdict
        readCommon(fields, path, &rule, &r)
        if rule.model == "*" { r.fail(fields["model"]!, "\(path).model: a comparison rule names one model") }
        rule.summary = rule.summary
            ?? "{{ $labels.candidate }} against {{ $labels.baseline }} of model {{ $labels.model }}: verdict {{ $labels.verdict }} over {{ $window }}"
        return rule
    }

    /// The fields every rule may carry.
    static func readCommon(
        _ fields: [String: ConfigNode], _ path: String, _ rule: inout AlertRuleConfig, _ r: inout ConfigReader
    ) {
        for (key, value) in fields {
            let p = "\(path).\(key)"
            switch key {
            case "model": if let v = r.string(value, p) { rule.model = v }
            case "for":
                // `for: 0s` is allowed and means firing on the first true evaluation.
                if let text = r.string(value, p) {
                    if text == "0s" || text == "0" {
                        rule.forDuration = TimeLength(millis: 0, text: "0s")
                    } else if let v = TimeLength.parse(text) {
                        rule.forDuration = v
                    } else {
                        r.fail(value, "\(p) must be a duration such as 10m")
                    }
                }
            case "min_samples": if let v = r.int(value, p, in: 0...Int(Int32.max)) { rule.minSamples = v }
            case "severity": if let v = r.oneOf(value, p, Severity.self) { rule.severity = v }
            case "notify": rule.notify = r.strings(value, p)
            case "labels": rule.labels = r.stringMap(value, p)
            case "summary": rule.summary = r.string(value, p)
            case "description": rule.description = r.string(value, p)
            case _ where selectorKeys.contains(key): if let v = r.string(value, p) { rule.selectors[key] = v }
            default: break
            }
        }
    }
}

/// The gauge families an alert rule may name (without the `vigil_` prefix): the catalog's.
public enum AlertMetric {
    public static let known: Set<String> = Set(WindowGauges.families.map(\.ruleName))
        .union([WindowGauges.compareVerdict.ruleName])
}
