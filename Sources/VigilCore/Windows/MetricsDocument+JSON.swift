import Foundation
import VigilStats

extension MetricsDocument {
    /// The document of DESIGN §4: every section present, `null` where a value cannot be computed
    /// (empty window, no labels, no reference), never NaN or Infinity.
    public func json() -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("model", .string(model)), ("version", .from(version)), ("variant", .from(variant)),
            ("window", .string(window)), ("from", .string(Timestamp.format(from))),
            ("to", .string(Timestamp.format(to))), ("task", .string(task.rawValue)),
            (
                "counts",
                .object([
                    ("predictions", .from(predictions)), ("labeled", .from(labeled)),
                    ("label_coverage", .from(labelCoverage)),
                ])
            ),
        ]
        pairs.append(("reference", reference.map(Self.json) ?? .null))
        pairs.append(
            (
                "drift",
                reference == nil
                    ? .null
                    : .object([
                        ("features", .object(features.map { ($0.name, Self.json($0.drift)) })),
                        ("prediction", predictionDrift.map(Self.json) ?? .null),
                        ("confidence", confidenceDrift.map(Self.json) ?? .null),
                        ("drifted_share", .from(driftedShare)),
                    ])
            ))
        pairs.append(("quality", quality.map { Self.json($0, task: task) } ?? .null))
        pairs.append(
            (
                "estimated",
                estimated.map {
                    .object([
                        ("precision", .from($0.precision)), ("recall", .from($0.recall)), ("f1", .from($0.f1)),
                        ("accuracy", .from($0.accuracy)), ("calibrated", .bool($0.calibrated)),
                    ])
                } ?? .null
            ))
        pairs.append(
            (
                "calibration",
                ece == nil && brier == nil ? .null : .object([("ece", .from(ece)), ("brier", .from(brier))])
            ))
        pairs.append(("fairness", .object(fairness.map { ($0.segment, Self.json($0.report)) })))
        pairs.append(
            (
                "data_quality",
                .object([
                    ("missing_ratio", .object(missingRatio.map { ($0.feature, .from($0.ratio)) })),
                    ("out_of_range_ratio", .object(outOfRangeRatio.map { ($0.feature, .from($0.ratio)) })),
                    (
                        "new_categories",
                        .object(
                            features.filter { !$0.drift.newCategories.isEmpty }.map {
                                ($0.name, .array($0.drift.newCategories.map { .string($0) }))
                            })
                    ),
                ])
            ))
        pairs.append(("metrics", .object(metrics.map { ($0.name, Self.json($0.summary)) })))
        pairs.append(("label_metrics", .object(labelMetrics.map { ($0.name, Self.json($0.summary)) })))
        return .object(pairs)
    }

    static func json(_ r: ReferenceSummary) -> JSONValue {
        .object([
            ("source", .string(r.source)), ("rows", .from(r.rows)), ("labeled", .from(r.labeled)),
            ("created_at", .string(Timestamp.format(r.createdAt))),
        ])
    }

    static func json(_ t: TestStatistic) -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("statistic", .number(t.statistic)), ("p_value", .number(t.pValue)),
            ("p_value_adjusted", .from(t.pValueAdjusted)),
        ]
        if let bound = t.bound { pairs.append(("bound", .number(bound))) }
        if let interval = t.pValueInterval {
            pairs.append(("p_value_interval", .array([.number(interval.lowerBound), .number(interval.upperBound)])))
        }
        return .object(pairs)
    }

    static func json(_ d: ColumnDrift) -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("type", .string(d.type.rawValue)), ("count", .from(d.count)), ("psi", .from(d.psi)),
        ]
        if d.type == .numeric {
            pairs.append(("ks", d.ks.map(json) ?? .null))
            pairs.append(("wasserstein", .from(d.wasserstein)))
            if let bound = d.wassersteinBound { pairs.append(("wasserstein_bound", .number(bound))) }
        } else {
            pairs.append(("chi2", d.chi2.map(json) ?? .null))
        }
        pairs.append(("js_distance", .from(d.jsDistance)))
        pairs.append(("drifted", .from(d.drifted)))
        if d.type == .categorical { pairs.append(("new_categories", .array(d.newCategories.map { .string($0) }))) }
        return .object(pairs)
    }

    static func json(_ q: QualityReport, task: ModelTask) -> JSONValue {
        if task == .regression {
            return .object([("mae", .from(q.mae)), ("rmse", .from(q.rmse)), ("r2", .from(q.r2))])
        }
        return .object([
            ("accuracy", .from(q.accuracy)), ("precision", .from(q.precision)), ("recall", .from(q.recall)),
            ("f1", .from(q.f1)),
            (
                "per_class",
                .object(
                    q.perClass.map {
                        (
                            $0.name,
                            .object([
                                ("precision", .number($0.quality.precision)), ("recall", .number($0.quality.recall)),
                                ("f1", .number($0.quality.f1)), ("support", .from($0.quality.support)),
                            ])
                        )
                    })
            ),
            (
                "confusion_matrix",
                .object([
                    ("labels", .array(q.confusionLabels.map { .string($0) })),
                    ("matrix", .array(q.confusionMatrix.map { .array($0.map { .from($0) }) })),
                ])
            ),
            (
                "intervals",
                .object(
                    q.intervals.map { ($0.name, .array([.number($0.interval.lower), .number($0.interval.upper)])) })
            ),
        ])
    }

    static func json(_ s: SegmentReport) -> JSONValue {
        .object([
            (
                "groups",
                .object(
                    s.groups.map { g in
                        (
                            g.name,
                            .object([
                                ("count", .from(g.report.count)), ("labeled", .from(g.report.labeled)),
                                ("selection_rate", .from(g.report.selectionRate)), ("tpr", .from(g.report.tpr)),
                                ("fpr", .from(g.report.fpr)), ("precision", .from(g.report.precision)),
                                ("accuracy", .from(g.report.accuracy)),
                                ("metrics", groupMetrics(g.report.metrics)),
                                ("label_metrics", groupMetrics(g.report.labelMetrics)),
                            ])
                        )
                    })
            ),
            ("demographic_parity_difference", .from(s.gaps.demographicParityDifference)),
            ("demographic_parity_ratio", .from(s.gaps.demographicParityRatio)),
            ("equal_opportunity_difference", .from(s.gaps.equalOpportunityDifference)),
            ("equalized_odds_difference", .from(s.gaps.equalizedOddsDifference)),
        ])
    }

    /// A group's metrics by name: count, mean and sum.
    static func groupMetrics(_ metrics: [String: MetricSummary]) -> JSONValue {
        .object(
            metrics.keys.sorted().map { name in
                let m = metrics[name]!
                return (name, .object([("count", .from(m.count)), ("mean", .from(m.mean)), ("sum", .from(m.sum))]))
            })
    }

    static func json(_ m: MetricSummary) -> JSONValue {
        .object([
            ("count", .from(m.count)), ("mean", .from(m.mean)), ("sum", .from(m.sum)), ("p50", .from(m.p50)), ("p95", .from(m.p95)),
            ("p99", .from(m.p99)),
        ])
    }
}
