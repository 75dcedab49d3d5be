/// One gauge value of a window for `/metrics`: its family (DESIGN §6; `WindowGauges` holds its
/// help text), extra labels beyond model / version / window, and the value.
public struct GaugeSample: Sendable, Equatable {
    public var family: String
    public var labels: [(String, String)]
    public var value: Double

    public static func == (a: GaugeSample, b: GaugeSample) -> Bool {
        a.family == b.family && a.value == b.value
            && a.labels.elementsEqual(b.labels, by: { $0.0 == $1.0 && $0.1 == $1.1 })
    }
}

extension MetricsDocument {
    /// The window's gauges. Values that are `null` in the document have no series.
    public func samples() -> [GaugeSample] {
        var out: [GaugeSample] = []
        func add(_ family: GaugeFamily, _ value: Double?, _ labels: [(String, String)] = []) {
            guard let value, value.isFinite else { return }
            out.append(GaugeSample(family: family.name, labels: labels, value: value))
        }
        add(.windowPredictions, Double(predictions))
        add(.windowLabeled, Double(labeled))
        add(.labelCoverageRatio, labelCoverage)
        for (name, d) in features {
            let l = [("feature", name)]
            add(.featureDriftPsi, d.psi, l)
            add(.featureDriftJsDistance, d.jsDistance, l)
            add(.featureDriftKsStatistic, d.ks?.statistic, l)
            add(.featureDriftPvalue, (d.type == .numeric ? d.ks : d.chi2)?.pValueAdjusted, l)
            add(.featureDrifted, d.drifted.map { $0 ? 1 : 0 }, l)
        }
        add(.featureDriftedShare, driftedShare)
        add(.predictionDriftPsi, predictionDrift?.psi)
        add(.confidenceDriftPsi, confidenceDrift?.psi)
        add(.qualityAccuracy, quality?.accuracy)
        add(.qualityPrecision, quality?.precision)
        add(.qualityRecall, quality?.recall)
        add(.qualityF1, quality?.f1)
        add(.qualityMae, quality?.mae)
        add(.qualityRmse, quality?.rmse)
        add(.qualityR2, quality?.r2)
        add(.estimatedPrecision, estimated?.precision)
        add(.estimatedRecall, estimated?.recall)
        add(.estimatedAccuracy, estimated?.accuracy)
        add(.calibrationEce, ece)
        add(.calibrationBrier, brier)
        for (segment, s) in fairness {
            for (group, g) in s.groups {
                let l = [("segment", segment), ("group", group)]
                add(.segmentPredictions, Double(g.count), l)
                add(.segmentSelectionRate, g.selectionRate, l)
                add(.segmentTpr, g.tpr, l)
                add(.segmentFpr, g.fpr, l)
                add(.segmentPrecision, g.precision, l)
                for (source, metrics) in [("prediction", g.metrics), ("label", g.labelMetrics)] {
                    for name in metrics.keys.sorted() {
                        for (stat, v) in [("mean", metrics[name]!.mean), ("sum", metrics[name]!.sum)] {
                            add(.segmentMetricValue, v, l + [("metric", name), ("stat", stat), ("source", source)])
                        }
                    }
                }
            }
            let l = [("segment", segment)]
            add(.fairnessDemographicParityDifference, s.gaps.demographicParityDifference, l)
            add(.fairnessDemographicParityRatio, s.gaps.demographicParityRatio, l)
            add(.fairnessEqualOpportunityDifference, s.gaps.equalOpportunityDifference, l)
            add(.fairnessEqualizedOddsDifference, s.gaps.equalizedOddsDifference, l)
        }
        for (feature, ratio) in missingRatio { add(.featureMissingRatio, ratio, [("feature", feature)]) }
        for (feature, ratio) in outOfRangeRatio {
            add(.featureOutOfRangeRatio, ratio, [("feature", feature)])
        }
        for (source, list) in [("prediction", metrics), ("label", labelMetrics)] {
            for (metric, m) in list {
                for (stat, v) in [("mean", m.mean), ("sum", m.sum), ("p50", m.p50), ("p95", m.p95), ("p99", m.p99)] {
                    add(.metricValue, v, [("metric", metric), ("stat", stat), ("source", source)])
                }
            }
        }
        return out
    }
}
