import VigilStats

/// What names a comparison entry: a family (`quality_precision`, `metric_value`, …) and, for
/// custom metrics, the metric's name, source and stat.
public struct ComparisonMetricID: Sendable, Hashable {
    public var name: String
    public var metricName: String?
    public var source: String?
    public var stat: String?
    /// A configured segment specification (per-group and fairness-gap entries) and its group.
    public var segment: String?
    public var group: String?

    public init(
        _ name: String, metricName: String? = nil, source: String? = nil, stat: String? = nil, segment: String? = nil,
        group: String? = nil
    ) {
        self.name = name
        self.metricName = metricName
        self.source = source
        self.stat = stat
        self.segment = segment
        self.group = group
    }

    /// Per-group and fairness-gap entries: they hold a promotion back, not roll it back.
    public var isSegment: Bool { segment != nil }

    /// How a reason names it: `quality_precision`, `segment_precision{segment="region",group="eu"}`,
    /// `metric_value{metric="latency_ms",source="prediction",stat="p95"}`,
    /// `metric_value{metric="hallucination",source="label",stat="mean",segment="region",group="eu"}`.
    public var display: String {
        var labels: [String] = []
        if let metricName {
            labels += [#"metric="\#(metricName)""#, #"source="\#(source ?? "prediction")""#, #"stat="\#(stat ?? "mean")""#]
        }
        if let segment { labels.append(#"segment="\#(segment)""#) }
        if let group { labels.append(#"group="\#(group)""#) }
        return labels.isEmpty ? name : "\(name){\(labels.joined(separator: ","))}"
    }
}

/// One side's counts.
public struct ComparisonSideSummary: Sendable, Equatable {
    public var side: ComparisonSide
    public var predictions: Int
    public var labeled: Int
    public var labelCoverage: Double? { predictions > 0 ? Double(labeled) / Double(predictions) : nil }
}

/// One metric compared (DESIGN §5).
public struct ComparisonEntry: Sendable, Equatable {
    public var id: ComparisonMetricID
    public var baseline: Double
    public var candidate: Double
    /// candidate − baseline.
    public var difference: Double { candidate - baseline }
    /// Fixed-horizon 95% interval of the difference.
    public var interval: Interval95?
    /// `two_proportion_z`, `welch_t` or `quantile_z`.
    public var test: String
    public var pValue: Double?
    public var pValueAdjusted: Double?
    /// Always-valid interval and p-value (the asymptotic confidence sequence).
    public var sequential: SequentialResult?
    public var n: (baseline: Int, candidate: Int)
    public var direction: MetricDirection?
    public var margin: Double?
    public var limit: Double?
    public var guardrail: Bool
    public var success: Bool
    /// The sequential interval lies wholly on the worse side of 0.
    public var worse: Bool?
    /// From CBPE estimates, not labels.
    public var provisional: Bool
    /// Per-observation variances of each side (for the sample size needed).
    var variances: (baseline: Double, candidate: Double)

    public static func == (a: ComparisonEntry, b: ComparisonEntry) -> Bool {
        a.id == b.id && a.baseline == b.baseline && a.candidate == b.candidate && a.interval == b.interval
            && a.test == b.test && a.pValue == b.pValue && a.pValueAdjusted == b.pValueAdjusted
            && a.sequential == b.sequential && a.n == b.n && a.direction == b.direction && a.margin == b.margin
            && a.limit == b.limit && a.guardrail == b.guardrail && a.success == b.success && a.worse == b.worse
            && a.provisional == b.provisional
    }

    /// The sequential interval in improvement units (positive is better), when it and a
    /// direction exist.
    var improvement: (lower: Double, upper: Double)? {
        guard let direction, let s = sequential?.interval else { return nil }
        return direction == .higherIsBetter ? (s.lower, s.upper) : (-s.upper, -s.lower)
    }

    /// The candidate breaks the absolute limit.
    var breaksLimit: Bool {
        guard let limit, let direction else { return false }
        return direction == .lowerIsBetter ? candidate > limit : candidate < limit
    }
}

/// Agreement of shadow predictions with the live ones they were made beside.
public struct ShadowAgreement: Sendable, Equatable {
    public var rate: Double
    public var interval: Interval95?
    public var n: Int
    public var labels: [String]
    /// Live (rows) × shadow (columns).
    public var matrix: [[Int]]
}

/// The verdict of a comparison.
public enum ReleaseVerdict: String, Sendable, Equatable, CaseIterable {
    case promote, rollback, inconclusive
}

/// `GET /v1/models/{m}/compare` (DESIGN §5).
public struct ComparisonDocument: Sendable, Equatable {
    public var model: String
    public var window: String
    public var from: Int64
    public var to: Int64
    public var baseline: ComparisonSideSummary
    public var candidate: ComparisonSideSummary
    public var metrics: [ComparisonEntry] = []
    public var agreement: ShadowAgreement?
    /// Paired tests on the ids both sides predicted (shadows), once labels arrive.
    public var paired: [PairedEntry] = []
    public var verdict: ReleaseVerdict = .inconclusive
    public var reason: String = ""
    public var neededPerSide: Int?
    /// The verdict rests on CBPE estimates alone (no guardrail from labels decided it).
    public var provisional = false
}

/// A paired test of a shadow against the live model on shared, labelled ids.
public struct PairedEntry: Sendable, Equatable {
    public var id: ComparisonMetricID
    public var baseline: Double
    public var candidate: Double
    /// `mcnemar` or `paired_t`.
    public var test: String
    public var statistic: Double?
    public var pValue: Double?
    public var n: Int
}
