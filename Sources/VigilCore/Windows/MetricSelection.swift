/// One gauge of a window named as alert rules name it (DESIGN §7): a window family of §6
/// without the `vigil_` prefix and a value for every label the family carries (`metric_name`
/// for the `metric` label, as in rules). The series endpoint reads one value per window with it.
public struct MetricSelection: Sendable, Equatable {
    public var family: GaugeFamily
    /// Every label of `family`, by its exposition name.
    public var labels: [(String, String)]

    /// `nil` with the reason when `metric` is not a window family or a label is missing.
    /// - Parameter value: a selector's value by its query name (`feature`, `segment`, `group`,
    ///   `metric_name`, `stat`, `source`).
    public static func make(metric: String, value: (String) -> String?) -> Result<MetricSelection, Failure> {
        guard let family = WindowGauges.families.first(where: { $0.ruleName == metric }) else {
            return .failure(.unknownMetric)
        }
        var labels: [(String, String)] = []
        var missing: [String] = []
        let takes = family.labels.map(Self.queryName)
        for label in family.labels {
            let name = Self.queryName(label)
            guard let v = value(name), !v.isEmpty else {
                missing.append(name)
                continue
            }
            if let allowed = allowedValues(family, label), !allowed.contains(v) {
                return .failure(.invalidValue(name, allowed))
            }
            labels.append((label, v))
        }
        guard missing.isEmpty else { return .failure(.missingLabels(takes, missing)) }
        let unused = selectorNames.filter { !takes.contains($0) && !(value($0) ?? "").isEmpty }
        guard unused.isEmpty else { return .failure(.unusedLabels(takes, unused)) }
        return .success(MetricSelection(family: family, labels: labels))
    }

    /// Every selector a series request may name, by its query name.
    public static let selectorNames = ["feature", "segment", "group", "metric_name", "stat", "source"]

    /// The values a label takes when they are a fixed set (`stat`, `source`); `nil` for user data.
    static func allowedValues(_ family: GaugeFamily, _ label: String) -> [String]? {
        switch label {
        case "source": ["prediction", "label"]
        case "stat": family == .segmentMetricValue ? ["mean", "sum"] : ["mean", "sum", "p50", "p95", "p99"]
        default: nil
        }
    }

    /// Why a selection could not be made.
    public enum Failure: Error, Sendable, Equatable {
        case unknownMetric
        /// All the family's selectors, and the ones missing.
        case missingLabels([String], [String])
        /// All the family's selectors, and the ones given that it does not carry.
        case unusedLabels([String], [String])
        /// A selector and the values it may take.
        case invalidValue(String, [String])
    }

    /// The query (and rule) name of a family label.
    public static func queryName(_ label: String) -> String { label == "metric" ? "metric_name" : label }

    /// What a window's buckets must merge for this gauge: one feature's distribution for that
    /// feature's PSI, JS, KS and data-quality ratios; every distribution for the adjusted
    /// p-values, `drifted`, prediction and confidence drift and calibration; the outcomes
    /// (counts, confusion, CBPE, groups, custom metrics) for every other gauge. A document built
    /// from them gives the gauge exactly as the whole document does.
    public var scope: BucketAggregate.MergeScope {
        let name = family.ruleName
        // A feature's own statistics need only its distribution; its adjusted p-value and
        // `drifted` are Benjamini–Hochberg across every feature, so they need all of them.
        let perFeature: Set<String> = [
            "feature_drift_psi", "feature_drift_js_distance", "feature_drift_ks_statistic", "feature_missing_ratio",
            "feature_out_of_range_ratio",
        ]
        if perFeature.contains(name), let feature = labels.first(where: { $0.0 == "feature" })?.1 {
            return .feature(feature)
        }
        let distributions = ["feature_", "prediction_drift", "confidence_drift", "calibration_"]
        return distributions.contains { name.hasPrefix($0) } ? .all : .outcomes
    }

    /// The selected gauge's value in `document`; `nil` where the document has no value for it
    /// (empty window, no labels, no reference, an unknown feature or group).
    public func value(in document: MetricsDocument) -> Double? {
        document.samples().first { sample in
            sample.family == family.name
                && labels.allSatisfy { wanted in sample.labels.contains { $0.0 == wanted.0 && $0.1 == wanted.1 } }
        }?.value
    }

    public static func == (a: MetricSelection, b: MetricSelection) -> Bool {
        a.family == b.family && a.labels.elementsEqual(b.labels, by: { $0.0 == $1.0 && $0.1 == $1.1 })
    }
}

/// One point of a series: the window ending at `t`, the values read from its document and its
/// counts.
public struct SeriesPoint: Sendable, Equatable {
    public var t: Int64
    public var values: [Double?]
    public var predictions: Int
    public var labeled: Int

    public init(t: Int64, values: [Double?], predictions: Int, labeled: Int) {
        self.t = t
        self.values = values
        self.predictions = predictions
        self.labeled = labeled
    }
}
