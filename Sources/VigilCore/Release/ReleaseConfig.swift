/// Which way a metric is better.
public enum MetricDirection: String, Sendable, Equatable, CaseIterable {
    case higherIsBetter = "higher_is_better"
    case lowerIsBetter = "lower_is_better"

    /// +1 when higher is better, −1 when lower is: a difference times this is the improvement.
    public var sign: Double { self == .higherIsBetter ? 1 : -1 }
}

/// One metric a release is judged on (DESIGN §5 `release.guardrails` / `release.success`).
public struct ReleaseMetricConfig: Sendable, Equatable {
    /// A comparison entry's name: `quality_precision`, `estimated_recall`, `quality_mae`,
    /// `metric_value` (custom metrics), or `label_metric_mean` (a label metric's mean).
    public var metric: String
    /// The custom metric's name, for `metric_value` and `label_metric_mean`.
    public var name: String?
    /// `mean` (default) or `p95`, for custom metrics.
    public var stat: String?
    /// `prediction` (default) or `label`, for `metric_value`.
    public var source: String?
    /// Defaults to the metric's natural direction (higher for quality, lower for errors and
    /// latency); required for custom metrics whose name does not say.
    public var direction: MetricDirection?
    /// Non-inferiority margin; default 0.01 for rates and 5% of the baseline for means.
    public var margin: Double?
    /// An absolute limit the candidate must not break (above it when lower is better).
    public var limit: Double?

    public init(
        metric: String, name: String? = nil, stat: String? = nil, source: String? = nil,
        direction: MetricDirection? = nil, margin: Double? = nil, limit: Double? = nil
    ) {
        self.metric = metric
        self.name = name
        self.stat = stat
        self.source = source
        self.direction = direction
        self.margin = margin
        self.limit = limit
    }

    /// Whether this configuration names `entry`.
    public func matches(_ entry: ComparisonMetricID) -> Bool {
        switch metric {
        case "label_metric_mean":
            return entry.name == "metric_value" && entry.source == "label" && entry.metricName == name
                && entry.stat == "mean" && entry.segment == nil
        case "metric_value":
            return entry.name == "metric_value" && entry.metricName == name && entry.stat == (stat ?? "mean")
                && entry.source == (source ?? "prediction") && entry.segment == nil
        default:
            return entry.name == metric
        }
    }
}

/// Two sides of a model to compare.
public struct ComparisonPair: Sendable, Hashable {
    public var baseline: ComparisonSide
    public var candidate: ComparisonSide
    public init(baseline: ComparisonSide, candidate: ComparisonSide) {
        self.baseline = baseline
        self.candidate = candidate
    }
}

/// A comparison evaluated every `evaluation_interval` (DESIGN §5 `release.watch`).
public struct WatchConfig: Sendable, Equatable, Hashable {
    public var pair: ComparisonPair
    public var window: TimeLength

    public init(pair: ComparisonPair, window: TimeLength) {
        self.pair = pair
        self.window = window
    }
}

/// How a model's releases are judged (DESIGN §5 `models.<m>.release`).
public struct ReleaseConfig: Sendable, Equatable {
    /// Per side, before any verdict but `inconclusive`.
    public var minSamples = 200
    /// The total sample size at which the confidence sequence is tightest.
    public var sequentialTuning = 5_000
    /// Every guardrail must be non-inferior to promote; one significantly worse rolls back.
    /// Empty: every quality and estimated metric the comparison has, with default margins.
    public var guardrails: [ReleaseMetricConfig] = []
    /// When given, at least one must be significantly better to promote.
    public var success: [ReleaseMetricConfig] = []
    public var watch: [WatchConfig] = []
    public init() {}
}
