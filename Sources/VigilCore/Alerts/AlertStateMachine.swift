/// A change of one alert's state, for notification and history.
public struct AlertTransition: Sendable, Equatable {
    public var alert: Alert
    public var from: AlertState?
    public var to: AlertState?
}

/// The active (pending and firing) alerts of every rule, and the rule state machine of
/// Prometheus' rule manager (`rules/alerting.go`): a series whose condition holds becomes
/// pending, then firing once it has held for `for`; when it stops holding, a pending alert is
/// dropped and a firing one resolves. A struct: evaluation returns transitions and the caller
/// does the IO (persisting, notifying).
public struct AlertStateMachine: Sendable, Equatable {
    /// Active alerts by fingerprint.
    public private(set) var active: [String: Alert] = [:]

    public init(active: [Alert] = []) {
        for alert in active { self.active[alert.fingerprint] = alert }
    }

    /// Evaluates `rule` for `model` on the gauges of its window at `now`. `samples` is the
    /// window's series; `count` its predictions. Below `min_samples` the rule is not evaluated
    /// and its alerts keep their state (no storms from small samples).
    public mutating func evaluate(
        _ rule: AlertRuleConfig, model: String, samples: [GaugeSample], count: Int, at now: Int64
    ) -> [AlertTransition] {
        guard count >= rule.minSamples else { return [] }
        var transitions: [AlertTransition] = []
        var seen = Set<String>()
        for sample in samples where Self.matches(rule, sample) && rule.op.holds(sample.value, rule.threshold) {
            var labels: [String: String] = ["alertname": rule.name, "model": model, "severity": rule.severity.rawValue]
            if let version = rule.version { labels["version"] = version }
            if let variant = rule.variant { labels["variant"] = variant }
            for (k, v) in sample.labels { labels[k] = v }
            for (k, v) in rule.labels { labels[k] = v }
            let fingerprint = Alert.fingerprint(labels)
            seen.insert(fingerprint)
            if var alert = active[fingerprint] {
                alert.value = sample.value
                alert.annotations = AlertTemplate.annotations(rule, labels: labels, value: sample.value)
                if alert.state == .pending, now - alert.activeAt >= rule.forDuration.millis {
                    alert.state = .firing
                    alert.firedAt = now
                    transitions.append(AlertTransition(alert: alert, from: .pending, to: .firing))
                }
                active[fingerprint] = alert
            } else {
                var alert = Alert(
                    rule: rule.name, model: model, labels: labels,
                    annotations: AlertTemplate.annotations(rule, labels: labels, value: sample.value), state: .pending,
                    activeAt: now, value: sample.value)
                transitions.append(AlertTransition(alert: alert, from: nil, to: .pending))
                if rule.forDuration.millis == 0 {
                    alert.state = .firing
                    alert.firedAt = now
                    transitions.append(AlertTransition(alert: alert, from: .pending, to: .firing))
                }
                active[fingerprint] = alert
            }
        }
        for (fingerprint, alert) in active where alert.rule == rule.name && alert.model == model {
            guard !seen.contains(fingerprint) else { continue }
            active[fingerprint] = nil
            transitions.append(alert.endTransition(at: now))
        }
        return transitions.sorted {
            ($0.alert.fingerprint, $0.to?.rawValue ?? "") < ($1.alert.fingerprint, $1.to?.rawValue ?? "")
        }
    }

    /// Drops the alerts of rules or models that no longer exist (after a configuration change);
    /// firing ones resolve.
    public mutating func retain(where keep: (Alert) -> Bool, at now: Int64) -> [AlertTransition] {
        var transitions: [AlertTransition] = []
        for (fingerprint, alert) in active where !keep(alert) {
            active[fingerprint] = nil
            if alert.state == .firing { transitions.append(alert.endTransition(at: now)) }
        }
        return transitions
    }

    /// Whether a series answers the rule: its family, then every selector against its labels
    /// (`metric_name` selects the custom metric of `metric_value`).
    static func matches(_ rule: AlertRuleConfig, _ sample: GaugeSample) -> Bool {
        guard sample.family == "vigil_" + rule.metric else { return false }
        for (key, wanted) in rule.selectors where !AlertRuleConfig.seriesSelectorKeys.contains(key) {
            let label = key == "metric_name" ? "metric" : key
            guard sample.labels.first(where: { $0.0 == label })?.1 == wanted else { return false }
        }
        return true
    }
}

extension Alert {
    /// What becomes of an active alert whose condition stopped holding: a firing one resolves
    /// at `now`, a pending one is dropped (becomes inactive).
    func endTransition(at now: Int64) -> AlertTransition {
        guard state == .firing else { return AlertTransition(alert: self, from: state, to: nil) }
        var resolved = self
        resolved.state = .resolved
        resolved.resolvedAt = now
        return AlertTransition(alert: resolved, from: .firing, to: .resolved)
    }
}

/// `summary` and `description` templates: `{{ $value }}`, `{{ $labels.NAME }}` (as in Prometheus
/// rule annotations), plus `{{ $threshold }}` and `{{ $window }}`.
public enum AlertTemplate {
    public static func annotations(_ rule: AlertRuleConfig, labels: [String: String], value: Double) -> [String: String]
    {
        let series = labels.filter {
            !["alertname", "model", "severity"].contains($0.key) && rule.labels[$0.key] == nil
        }
        .sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        let defaultSummary =
            "\(rule.metric)\(series.isEmpty ? "" : " {\(series)}") of model {{ $labels.model }} is {{ $value }} (\(rule.op.rawValue) {{ $threshold }} over {{ $window }})"
        var out = [
            "summary": render(rule.summary ?? defaultSummary, labels: labels, value: value, rule: rule),
            "value": format(value), "threshold": format(rule.threshold), "window": rule.window.text,
        ]
        if let description = rule.description {
            out["description"] = render(description, labels: labels, value: value, rule: rule)
        }
        return out
    }

    public static func render(_ template: String, labels: [String: String], value: Double, rule: AlertRuleConfig)
        -> String
    {
        var out = ""
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                out += rest[open.lowerBound...]
                return out
            }
            let expression = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            switch expression {
            case "$value": out += format(value)
            case "$threshold": out += format(rule.threshold)
            case "$window": out += rule.window.text
            case _ where expression.hasPrefix("$labels."): out += labels[String(expression.dropFirst(8))] ?? ""
            default: out += "{{\(rest[open.upperBound..<close.lowerBound])}}"
            }
            rest = rest[close.upperBound...]
        }
        return out + rest
    }

    static func format(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        let rounded = (v * 10_000).rounded() / 10_000
        return rounded == 0 ? "\(v)" : "\(rounded)"
    }
}
