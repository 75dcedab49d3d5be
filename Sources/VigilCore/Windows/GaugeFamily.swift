/// One gauge family of the window exposition (DESIGN §6): its name, help text and the labels
/// its series carry beyond `model`, `version` and `window`. `WindowGauges.families` is the one
/// catalog: the exposition renders it, alert rules may name only its families, and the
/// dashboards' generator reads it (`tools/dashboards/families.json`, kept equal by a test).
public struct GaugeFamily: Sendable, Hashable {
    public var name: String
    public var help: String
    public var labels: [String]

    public init(_ name: String, _ help: String, labels: [String] = []) {
        self.name = name
        self.help = help
        self.labels = labels
    }

    /// The name without the `vigil_` prefix, as alert rules write it.
    public var ruleName: String { String(name.dropFirst("vigil_".count)) }

    public static let windowPredictions = GaugeFamily(
        "vigil_window_predictions", "Predictions in the window.")
    public static let windowLabeled = GaugeFamily(
        "vigil_window_labeled", "Predictions in the window that have a label.")
    public static let labelCoverageRatio = GaugeFamily(
        "vigil_label_coverage_ratio", "Share of the window's predictions that have a label.")
    public static let featureDriftPsi = GaugeFamily(
        "vigil_feature_drift_psi", "Population stability index of a feature against the reference (label feature).", labels: ["feature"])
    public static let featureDriftJsDistance = GaugeFamily(
        "vigil_feature_drift_js_distance", "Jensen-Shannon distance (base 2) of a feature against the reference.", labels: ["feature"])
    public static let featureDriftKsStatistic = GaugeFamily(
        "vigil_feature_drift_ks_statistic", "Two-sample Kolmogorov-Smirnov statistic of a numeric feature.", labels: ["feature"])
    public static let featureDriftPvalue = GaugeFamily(
        "vigil_feature_drift_pvalue", "Benjamini-Hochberg adjusted p-value of a feature's drift test (KS numeric, chi-square categorical).", labels: ["feature"])
    public static let featureDrifted = GaugeFamily(
        "vigil_feature_drifted", "1 when the feature drifted (adjusted p below alpha and effect size over threshold).", labels: ["feature"])
    public static let featureDriftedShare = GaugeFamily(
        "vigil_feature_drifted_share", "Share of the model's tested features that drifted.")
    public static let predictionDriftPsi = GaugeFamily(
        "vigil_prediction_drift_psi", "Population stability index of the predictions against the reference.")
    public static let confidenceDriftPsi = GaugeFamily(
        "vigil_confidence_drift_psi", "Population stability index of the confidences against the reference.")
    public static let qualityAccuracy = GaugeFamily(
        "vigil_quality_accuracy", "Accuracy over the window's labelled predictions.")
    public static let qualityPrecision = GaugeFamily(
        "vigil_quality_precision", "Precision (binary: positive class; multiclass: macro) over labelled predictions.")
    public static let qualityRecall = GaugeFamily(
        "vigil_quality_recall", "Recall (binary: positive class; multiclass: macro) over labelled predictions.")
    public static let qualityF1 = GaugeFamily(
        "vigil_quality_f1", "F1 (binary: positive class; multiclass: macro) over labelled predictions.")
    public static let qualityMae = GaugeFamily(
        "vigil_quality_mae", "Mean absolute error of a regression model over labelled predictions.")
    public static let qualityRmse = GaugeFamily(
        "vigil_quality_rmse", "Root mean squared error of a regression model over labelled predictions.")
    public static let qualityR2 = GaugeFamily(
        "vigil_quality_r2", "Coefficient of determination of a regression model over labelled predictions.")
    public static let estimatedPrecision = GaugeFamily(
        "vigil_estimated_precision", "Precision estimated from confidences before labels arrive (CBPE).")
    public static let estimatedRecall = GaugeFamily(
        "vigil_estimated_recall", "Recall estimated from confidences before labels arrive (CBPE).")
    public static let estimatedAccuracy = GaugeFamily(
        "vigil_estimated_accuracy", "Accuracy estimated from confidences before labels arrive (CBPE).")
    public static let calibrationEce = GaugeFamily(
        "vigil_calibration_ece", "Expected calibration error of P(positive) over labelled predictions (10 bins).")
    public static let calibrationBrier = GaugeFamily(
        "vigil_calibration_brier", "Brier score of P(positive) over labelled predictions.")
    public static let segmentPredictions = GaugeFamily(
        "vigil_segment_predictions", "Predictions of a segment group (labels segment, group).", labels: ["segment", "group"])
    public static let segmentSelectionRate = GaugeFamily(
        "vigil_segment_selection_rate", "Share of a group's predictions that are positive.", labels: ["segment", "group"])
    public static let segmentTpr = GaugeFamily(
        "vigil_segment_tpr", "True positive rate of a group over its labelled predictions.", labels: ["segment", "group"])
    public static let segmentFpr = GaugeFamily(
        "vigil_segment_fpr", "False positive rate of a group over its labelled predictions.", labels: ["segment", "group"])
    public static let segmentPrecision = GaugeFamily(
        "vigil_segment_precision", "Precision of a group over its labelled predictions.", labels: ["segment", "group"])
    public static let fairnessDemographicParityDifference = GaugeFamily(
        "vigil_fairness_demographic_parity_difference", "Largest minus smallest group selection rate (Fairlearn).", labels: ["segment"])
    public static let fairnessDemographicParityRatio = GaugeFamily(
        "vigil_fairness_demographic_parity_ratio", "Smallest over largest group selection rate (Fairlearn).", labels: ["segment"])
    public static let fairnessEqualOpportunityDifference = GaugeFamily(
        "vigil_fairness_equal_opportunity_difference", "Largest minus smallest group true positive rate.", labels: ["segment"])
    public static let fairnessEqualizedOddsDifference = GaugeFamily(
        "vigil_fairness_equalized_odds_difference", "Larger of the TPR and FPR spreads across groups (Fairlearn).", labels: ["segment"])
    public static let featureMissingRatio = GaugeFamily(
        "vigil_feature_missing_ratio", "Share of the window's predictions with the feature missing.", labels: ["feature"])
    public static let featureOutOfRangeRatio = GaugeFamily(
        "vigil_feature_out_of_range_ratio", "Share of a feature's values outside its configured range.", labels: ["feature"])
    public static let metricValue = GaugeFamily(
        "vigil_metric_value", "A custom metric's mean, sum or quantile (labels metric, stat, source).", labels: ["metric", "stat", "source"])
    public static let segmentMetricValue = GaugeFamily(
        "vigil_segment_metric_value", "A custom metric's mean or sum within a segment group (stat mean or sum).",
        labels: ["segment", "group", "metric", "stat", "source"])
}

/// The catalog of window gauge families, in exposition order.
public enum WindowGauges {
    public static let families: [GaugeFamily] = [
        .windowPredictions,
        .windowLabeled,
        .labelCoverageRatio,
        .featureDriftPsi,
        .featureDriftJsDistance,
        .featureDriftKsStatistic,
        .featureDriftPvalue,
        .featureDrifted,
        .featureDriftedShare,
        .predictionDriftPsi,
        .confidenceDriftPsi,
        .qualityAccuracy,
        .qualityPrecision,
        .qualityRecall,
        .qualityF1,
        .qualityMae,
        .qualityRmse,
        .qualityR2,
        .estimatedPrecision,
        .estimatedRecall,
        .estimatedAccuracy,
        .calibrationEce,
        .calibrationBrier,
        .segmentPredictions,
        .segmentSelectionRate,
        .segmentTpr,
        .segmentFpr,
        .segmentPrecision,
        .fairnessDemographicParityDifference,
        .fairnessDemographicParityRatio,
        .fairnessEqualOpportunityDifference,
        .fairnessEqualizedOddsDifference,
        .featureMissingRatio,
        .featureOutOfRangeRatio,
        .metricValue,
        .segmentMetricValue,
    ]

    /// Families by name.
    public static let byName: [String: GaugeFamily] = Dictionary(uniqueKeysWithValues: families.map { ($0.name, $0) })

    /// `vigil_compare_verdict{model, baseline, candidate, window, verdict}`: 1 for the current
    /// verdict of each watched comparison, 0 for the others (DESIGN §5).
    public static let compareVerdict = GaugeFamily(
        "vigil_compare_verdict", "1 for the current verdict of a watched comparison, 0 for the others.",
        labels: ["baseline", "candidate", "verdict"])
    /// `vigil_compare_difference{model, baseline, candidate, window, metric}`: candidate − baseline.
    public static let compareDifference = GaugeFamily(
        "vigil_compare_difference", "Candidate minus baseline of a watched comparison's metric.",
        labels: ["baseline", "candidate", "metric"])

    /// `vigil_alerts_firing{alertname, severity}`: rendered by the alert engine beside the windows.
    public static let alertsFiring = GaugeFamily(
        "vigil_alerts_firing", "Alerts firing, by rule and severity.", labels: ["alertname", "severity"])
}
