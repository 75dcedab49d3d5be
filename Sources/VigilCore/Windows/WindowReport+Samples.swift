/// One gauge value of a window for `/metrics`: its family (DESIGN §6, without HELP text, which
/// the server's catalog owns), extra labels beyond model / version / window, and the value.
public struct GaugeSample: Sendable, Equatable {
    public var family: String
    public var labels: [(String, String)]
    public var value: Double

    public static func == (a: GaugeSample, b: GaugeSample) -> Bool {
        a.family == b.family && a.value == b.value
            && a.labels.elementsEqual(b.labels, by: { $0.0 == $1.0 && $0.1 == $1.1 })
    }
}

extension WindowReport {
    /// The window's gauges. Values that are `null` in the document have no series.
    public func samples() -> [GaugeSample] {
        var out: [GaugeSample] = []
        func add(_ family: String, _ value: Double?, _ labels: [(String, String)] = []) {
            guard let value, value.isFinite else { return }
            out.append(GaugeSample(family: family, labels: labels, value: value))
        }
        add("vigil_window_predictions", Double(predictions))
        add("vigil_window_labeled", Double(labeled))
        add("vigil_label_coverage_ratio", labelCoverage)
        for (name, d) in features {
            let l = [("feature", name)]
            add("vigil_feature_drift_psi", d.psi, l)
            add("vigil_feature_drift_js_distance", d.jsDistance, l)
            add("vigil_feature_drift_ks_statistic", d.ks?.statistic, l)
            add("vigil_feature_drift_pvalue", (d.type == .numeric ? d.ks : d.chi2)?.pValueAdjusted, l)
            add("vigil_feature_drifted", d.drifted.map { $0 ? 1 : 0 }, l)
        }
        add("vigil_feature_drifted_share", driftedShare)
        add("vigil_prediction_drift_psi", predictionDrift?.psi)
        add("vigil_confidence_drift_psi", confidenceDrift?.psi)
        add("vigil_quality_accuracy", quality?.accuracy)
        add("vigil_quality_precision", quality?.precision)
        add("vigil_quality_recall", quality?.recall)
        add("vigil_quality_f1", quality?.f1)
        add("vigil_quality_mae", quality?.mae)
        add("vigil_quality_rmse", quality?.rmse)
        add("vigil_quality_r2", quality?.r2)
        add("vigil_estimated_precision", estimated?.precision)
        add("vigil_estimated_recall", estimated?.recall)
        add("vigil_estimated_accuracy", estimated?.accuracy)
        add("vigil_calibration_ece", ece)
        add("vigil_calibration_brier", brier)
        for (segment, s) in fairness {
            for (group, g) in s.groups {
                let l = [("segment", segment), ("group", group)]
                add("vigil_segment_predictions", Double(g.count), l)
                add("vigil_segment_selection_rate", g.selectionRate, l)
                add("vigil_segment_tpr", g.tpr, l)
                add("vigil_segment_fpr", g.fpr, l)
                add("vigil_segment_precision", g.precision, l)
            }
            let l = [("segment", segment)]
            add("vigil_fairness_demographic_parity_difference", s.gaps.demographicParityDifference, l)
            add("vigil_fairness_demographic_parity_ratio", s.gaps.demographicParityRatio, l)
            add("vigil_fairness_equal_opportunity_difference", s.gaps.equalOpportunityDifference, l)
            add("vigil_fairness_equalized_odds_difference", s.gaps.equalizedOddsDifference, l)
        }
        for (feature, ratio) in missingRatio { add("vigil_feature_missing_ratio", ratio, [("feature", feature)]) }
        for (feature, ratio) in outOfRangeRatio {
            add("vigil_feature_out_of_range_ratio", ratio, [("feature", feature)])
        }
        for (source, list) in [("prediction", metrics), ("label", labelMetrics)] {
            for (metric, m) in list {
                for (stat, v) in [("mean", m.mean), ("p50", m.p50), ("p95", m.p95), ("p99", m.p99)] {
                    add("vigil_metric_value", v, [("metric", metric), ("stat", stat), ("source", source)])
                }
            }
        }
        return out
    }
}
