import VigilStats

extension ComparisonDocument {
    /// The document of DESIGN §5: `null` where a value cannot be computed, never NaN.
    public func json() -> JSONValue {
        .object([
            ("model", .string(model)), ("window", .string(window)),
            ("from", .string(Timestamp.format(from))), ("to", .string(Timestamp.format(to))),
            ("baseline", Self.json(baseline)), ("candidate", Self.json(candidate)),
            ("metrics", .array(metrics.map(Self.json))),
            ("agreement", agreement.map(Self.json) ?? .null),
            ("paired", .array(paired.map(Self.json))),
            ("verdict", .string(verdict.rawValue)), ("reason", .string(reason)),
            ("needed_per_side", neededPerSide.map { .from($0) } ?? .null),
            ("provisional", .bool(provisional)),
        ])
    }

    static func number(_ x: Double?) -> JSONValue {
        guard let x, x.isFinite else { return .null }
        return .number(x)
    }

    static func json(_ i: Interval95?) -> JSONValue {
        guard let i, i.lower.isFinite, i.upper.isFinite else { return .null }
        return .array([.number(i.lower), .number(i.upper)])
    }

    static func json(_ s: ComparisonSideSummary) -> JSONValue {
        .object([
            ("version", .from(s.side.version)), ("variant", .from(s.side.variant)),
            ("predictions", .from(s.predictions)), ("labeled", .from(s.labeled)),
            ("label_coverage", number(s.labelCoverage)),
        ])
    }

    static func json(_ e: ComparisonEntry) -> JSONValue {
        var pairs: [(String, JSONValue)] = [("name", .string(e.id.name))]
        if let name = e.id.metricName {
            pairs += [("metric_name", .string(name)), ("source", .from(e.id.source)), ("stat", .from(e.id.stat))]
        }
        if let segment = e.id.segment { pairs += [("segment", .string(segment)), ("group", .from(e.id.group))] }
        pairs += [
            ("baseline", number(e.baseline)), ("candidate", number(e.candidate)),
            ("difference", number(e.difference)), ("interval", json(e.interval)), ("test", .string(e.test)),
            ("p_value", number(e.pValue)), ("p_value_adjusted", number(e.pValueAdjusted)),
            (
                "sequential",
                e.sequential.map { .object([("interval", json($0.interval)), ("p_value", number($0.pValue))]) }
                    ?? .null
            ),
            ("n", .array([.from(e.n.baseline), .from(e.n.candidate)])),
            ("direction", .from(e.direction?.rawValue)), ("margin", number(e.margin)), ("limit", number(e.limit)),
            ("guardrail", .bool(e.guardrail)), ("success", .bool(e.success)), ("worse", .from(e.worse)),
            ("provisional", .bool(e.provisional)),
        ]
        return .object(pairs)
    }

    static func json(_ a: ShadowAgreement) -> JSONValue {
        .object([
            ("rate", number(a.rate)), ("interval", json(a.interval)), ("n", .from(a.n)),
            (
                "matrix",
                .object([
                    ("labels", .array(a.labels.map { .string($0) })),
                    ("matrix", .array(a.matrix.map { .array($0.map { .from($0) }) })),
                ])
            ),
        ])
    }

    static func json(_ p: PairedEntry) -> JSONValue {
        .object([
            ("name", .string(p.id.name)), ("metric_name", .from(p.id.metricName)),
            ("baseline", number(p.baseline)), ("candidate", number(p.candidate)), ("test", .string(p.test)),
            ("statistic", number(p.statistic)), ("p_value", number(p.pValue)), ("n", .from(p.n)),
        ])
    }
}

extension ComparisonDocument {
    /// The labels naming this comparison's series beside `model` and `window`.
    var seriesLabels: [(String, String)] {
        [("baseline", baseline.side.description), ("candidate", candidate.side.description)]
    }

    /// `vigil_compare_verdict` (1 for the current verdict, 0 for the others) and
    /// `vigil_compare_difference` per entry (custom metrics as `metric_value:NAME:STAT`).
    public func samples() -> [GaugeSample] {
        var out = ReleaseVerdict.allCases.map { v in
            GaugeSample(
                family: WindowGauges.compareVerdict.name, labels: seriesLabels + [("verdict", v.rawValue)],
                value: verdict == v ? 1 : 0)
        }
        for entry in metrics where entry.difference.isFinite {
            // Per-group entries stay in the document: one series per group would multiply the
            // exported series by the groups of every segment.
            guard !entry.id.isSegment else { continue }
            let metric = entry.id.metricName.map { "\(entry.id.name):\(entry.id.source ?? "prediction"):\($0):\(entry.id.stat ?? "mean")" }
                ?? entry.id.name
            out.append(
                GaugeSample(
                    family: WindowGauges.compareDifference.name, labels: seriesLabels + [("metric", metric)],
                    value: entry.difference))
        }
        return out
    }

    /// What a comparison rule for `verdict` sees: 1 while the verdict holds — a `promote` only
    /// when it is not provisional, so a rollout step never advances on CBPE estimates alone.
    public func ruleSamples(_ wanted: ReleaseVerdict) -> [GaugeSample] {
        let holds = verdict == wanted && !(wanted == .promote && provisional)
        return [
            GaugeSample(
                family: WindowGauges.compareVerdict.name, labels: seriesLabels + [("verdict", wanted.rawValue)],
                value: holds ? 1 : 0)
        ]
    }
}
