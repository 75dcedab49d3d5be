import VigilStats

/// A test statistic with its p-values; `bound` is the sketch error bound when the statistic came
/// from quantile sketches (`nil`: exact).
public struct TestStatistic: Sendable, Equatable {
    public var statistic: Double
    public var pValue: Double
    public var pValueAdjusted: Double?
    public var bound: Double?
    /// From sketches: the interval the exact p-value lies in; `pValue` is its upper end, so a
    /// sketch never claims more significance than the exact test could.
    public var pValueInterval: ClosedRange<Double>?
}

/// One bin of a reliability diagram: probabilities in [lower, upper).
public struct ReliabilityBin: Sendable, Equatable {
    public var lower: Double
    public var upper: Double
    public var count: Int
    public var meanProbability: Double
    public var observedRate: Double
}

/// Two sides' counts on shared bins: numeric bins between `edges` (`edges.count + 1` bins, the
/// first and last open), or one bin per category in `labels` (the last pooling the rest).
public struct DriftBins: Sendable, Equatable {
    public var edges: [Double] = []
    public var labels: [String] = []
    public var reference: [Int]
    public var current: [Int]

    public init(edges: [Double] = [], labels: [String] = [], reference: [Int], current: [Int]) {
        self.edges = edges
        self.labels = labels
        self.reference = reference
        self.current = current
    }
}

/// Drift of one column against the reference.
public struct ColumnDrift: Sendable, Equatable {
    public var type: FeatureType
    /// Current (window) values compared.
    public var count: Int
    public var psi: Double?
    public var jsDistance: Double?
    public var ks: TestStatistic?
    public var chi2: TestStatistic?
    public var wasserstein: Double?
    /// Bound of `wasserstein` when it came from sketches.
    public var wassersteinBound: Double?
    public var drifted: Bool?
    public var newCategories: [String] = []
    /// The reference's and the window's counts on the bins PSI and JS use, for pictures (the
    /// console); not in the JSON document.
    public var bins: DriftBins?

    /// The p-value the drift decision uses: KS for numeric columns, χ² for categorical ones.
    var pValue: Double? { type == .numeric ? ks?.pValue : chi2?.pValue }
}

/// Precision, recall and F1 of one class, with its support.
public struct ClassQuality: Sendable, Equatable {
    public var precision: Double
    public var recall: Double
    public var f1: Double
    public var support: Int
}

/// Realized quality from labels.
public struct QualityReport: Sendable, Equatable {
    public var accuracy: Double?
    public var precision: Double?
    public var recall: Double?
    public var f1: Double?
    public var perClass: [(name: String, quality: ClassQuality)] = []
    public var confusionLabels: [String] = []
    public var confusionMatrix: [[Int]] = []
    public var intervals: [(name: String, interval: Interval95)] = []
    /// Regression.
    public var mae: Double?
    public var rmse: Double?
    public var r2: Double?

    public static func == (a: QualityReport, b: QualityReport) -> Bool {
        a.accuracy == b.accuracy && a.precision == b.precision && a.recall == b.recall && a.f1 == b.f1
            && a.perClass.elementsEqual(b.perClass, by: { $0.name == $1.name && $0.quality == $1.quality })
            && a.confusionLabels == b.confusionLabels && a.confusionMatrix == b.confusionMatrix
            && a.intervals.elementsEqual(b.intervals, by: { $0.name == $1.name && $0.interval == $1.interval })
            && a.mae == b.mae && a.rmse == b.rmse && a.r2 == b.r2
    }
}

/// CBPE's estimates before labels arrive.
public struct EstimatedQuality: Sendable, Equatable {
    public var precision: Double?
    public var recall: Double?
    public var f1: Double?
    public var accuracy: Double?
    /// Whether the confidences were calibrated on the labelled reference.
    public var calibrated: Bool
}

/// One group of a segment.
public struct GroupReport: Sendable, Equatable {
    public var count: Int
    public var labeled: Int
    public var selectionRate: Double?
    public var tpr: Double?
    public var fpr: Double?
    public var precision: Double?
    public var accuracy: Double?
    /// The group's prediction and label `metrics`: count, mean and sum (no quantiles per group).
    public var metrics: [String: MetricSummary] = [:]
    public var labelMetrics: [String: MetricSummary] = [:]
    /// The counts behind the rates (for their intervals on the console; not in the JSON document).
    public var counters: GroupCounters?
}

/// Fairness over one segment specification.
public struct SegmentReport: Sendable, Equatable {
    public var groups: [(name: String, report: GroupReport)]
    public var gaps: FairnessGaps

    public static func == (a: SegmentReport, b: SegmentReport) -> Bool {
        a.gaps == b.gaps && a.groups.elementsEqual(b.groups, by: { $0.name == $1.name && $0.report == $1.report })
    }
}

/// Mean, sum and quantiles of a custom metric.
public struct MetricSummary: Sendable, Equatable {
    public var count: Int
    public var mean: Double?
    /// The window's total (a cost budget is the `sum` over `24h`).
    public var sum: Double?
    public var p50: Double?
    public var p95: Double?
    public var p99: Double?
}

/// The metrics document of one window (DESIGN §4), as values; `json()` renders it.
public struct MetricsDocument: Sendable {
    public var model: String
    public var version: String?
    public var variant: String?
    public var window: String
    public var from: Int64
    public var to: Int64
    public var task: ModelTask
    public var predictions: Int
    public var labeled: Int
    public var labelCoverage: Double?
    public var features: [(name: String, drift: ColumnDrift)] = []
    public var predictionDrift: ColumnDrift?
    public var confidenceDrift: ColumnDrift?
    public var driftedShare: Double?
    public var quality: QualityReport?
    public var estimated: EstimatedQuality?
    public var ece: Double?
    public var brier: Double?
    /// The reliability diagram behind `ece`: each non-empty probability bin's predictions, mean
    /// probability and observed positive rate (for pictures; not in the JSON document).
    public var reliability: [ReliabilityBin] = []
    public var fairness: [(segment: String, report: SegmentReport)] = []
    public var missingRatio: [(feature: String, ratio: Double?)] = []
    public var outOfRangeRatio: [(feature: String, ratio: Double?)] = []
    public var metrics: [(name: String, summary: MetricSummary)] = []
    public var labelMetrics: [(name: String, summary: MetricSummary)] = []
    public var reference: ReferenceSummary?
}

/// What the document says about the reference it compared against.
public struct ReferenceSummary: Sendable, Equatable {
    public var source: String
    public var rows: Int
    public var labeled: Int
    public var createdAt: Int64
}
