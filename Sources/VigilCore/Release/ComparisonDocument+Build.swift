import VigilStats

/// One side's estimate of a metric: its value, the variance of one observation and how many
/// observations it rests on. `successes` is set for rates (tested on counts).
struct SideEstimate {
    var value: Double
    var variance: Double
    var n: Int
    var successes: Int?

    static func rate(_ successes: Int, _ trials: Int) -> SideEstimate? {
        guard trials > 0 else { return nil }
        let p = Double(successes) / Double(trials)
        return SideEstimate(value: p, variance: p * (1 - p), n: trials, successes: successes)
    }

    /// A rate from expected (fractional) counts: CBPE's estimates.
    static func expectedRate(_ successes: Double, _ trials: Double) -> SideEstimate? {
        guard trials >= 1 else { return nil }
        let p = successes / trials
        let n = Int(trials.rounded())
        return SideEstimate(value: p, variance: p * (1 - p), n: n, successes: Int((p * Double(n)).rounded()))
    }

    /// An F1 score from (possibly expected) counts over `n` labelled predictions, with its
    /// delta-method variance stated per observation.
    static func f1(_ tp: Double, _ fp: Double, _ fn: Double, n: Int) -> SideEstimate? {
        guard n > 0, let v = HypothesisTests.f1Variance(truePositives: tp, falsePositives: fp, falseNegatives: fn)
        else { return nil }
        return SideEstimate(value: 2 * tp / (2 * tp + fp + fn), variance: v * Double(n), n: n)
    }

    static func mean(_ m: Moments) -> SideEstimate? {
        guard let v = m.sampleVariance else { return nil }
        return SideEstimate(value: m.mean, variance: v, n: m.count)
    }

    /// The p-quantile from a sketch, with the asymptotic variance of a sample quantile,
    /// p(1−p)/f(q)², the density f estimated from the sketch by a central difference over ±2%.
    static func quantile(_ sketch: QuantileSketch, _ p: Double, count: Int) -> SideEstimate? {
        let h = 0.02
        guard count >= 20, let q = sketch.quantile(p), let high = sketch.quantile(min(1, p + h)),
            let low = sketch.quantile(max(0, p - h))
        else { return nil }
        let spread = high - low
        // A flat stretch (many equal values) has no density to speak of: no test.
        guard spread > 0 else { return SideEstimate(value: q, variance: 0, n: count) }
        let density = 2 * h / spread
        return SideEstimate(value: q, variance: p * (1 - p) / (density * density), n: count)
    }
}

extension ComparisonDocument {
    /// The comparison of two sides' merged buckets over one window.
    public static func build(
        model: String, window: String, span: (from: Int64, to: Int64),
        baseline: (side: ComparisonSide, buckets: BucketAggregate),
        candidate: (side: ComparisonSide, buckets: BucketAggregate),
        task: ModelTask, positiveClass: String?, release: ReleaseConfig
    ) -> ComparisonDocument {
        let (a, b) = (baseline.buckets, candidate.buckets)
        var document = ComparisonDocument(
            model: model, window: window, from: span.from, to: span.to,
            baseline: ComparisonSideSummary(side: baseline.side, predictions: a.predictions, labeled: a.labeled),
            candidate: ComparisonSideSummary(side: candidate.side, predictions: b.predictions, labeled: b.labeled))
        let available = pairs(a, b, task: task, positiveClass: positiveClass).compactMap { id, estimates, provisional in
            estimates.map { (id, $0.0, $0.1, provisional) }
        }
        // Default guardrails: realized quality once labels give it, CBPE's estimates before.
        let defaultFamily = available.contains { $0.0.name.hasPrefix("quality_") } ? "quality_" : "estimated_"
        var entries = available.map { id, x, y, provisional in
            entry(
                id, x, y, provisional: provisional, defaultGuardrail: id.name.hasPrefix(defaultFamily),
                release: release)
        }
        let adjusted = HypothesisTests.benjaminiHochberg(entries.compactMap(\.pValue))
        var next = adjusted.makeIterator()
        for i in entries.indices where entries[i].pValue != nil { entries[i].pValueAdjusted = next.next() }
        document.metrics = entries
        document.decide(release)
        return document
    }

    /// The metrics both sides are compared on, each with both sides' estimates when both have one.
    static func pairs(_ a: BucketAggregate, _ b: BucketAggregate, task: ModelTask, positiveClass: String?)
        -> [(ComparisonMetricID, (SideEstimate, SideEstimate)?, Bool)]
    {
        func both(_ f: (BucketAggregate) -> SideEstimate?) -> (SideEstimate, SideEstimate)? {
            guard let x = f(a), let y = f(b) else { return nil }
            return (x, y)
        }
        var out: [(ComparisonMetricID, (SideEstimate, SideEstimate)?, Bool)] = []
        switch task {
        case .binary, .multiclass:
            out.append((ComparisonMetricID("quality_accuracy"), both { w in
                let correct = w.confusion.classes.reduce(0) { $0 + w.confusion.count(truth: $1, predicted: $1) }
                return .rate(correct, w.confusion.total)
            }, false))
            if let positive = positiveClass {
                out.append((ComparisonMetricID("quality_precision"), both { w in
                    let predicted = w.confusion.classes.reduce(0) { $0 + w.confusion.count(truth: $1, predicted: positive) }
                    return .rate(w.confusion.count(truth: positive, predicted: positive), predicted)
                }, false))
                out.append((ComparisonMetricID("quality_recall"), both { w in
                    .rate(w.confusion.count(truth: positive, predicted: positive), w.confusion.scores(of: positive).support)
                }, false))
                out.append((ComparisonMetricID("quality_f1"), both { w in
                    let tp = w.confusion.count(truth: positive, predicted: positive)
                    let predicted = w.confusion.classes.reduce(0) { $0 + w.confusion.count(truth: $1, predicted: positive) }
                    let support = w.confusion.scores(of: positive).support
                    return .f1(Double(tp), Double(predicted - tp), Double(support - tp), n: w.confusion.total)
                }, false))
                let e = { (w: BucketAggregate) in w.expected }
                out.append((ComparisonMetricID("estimated_accuracy"), both { w in
                    .expectedRate(e(w).truePositives + e(w).trueNegatives, Double(e(w).count))
                }, true))
                out.append((ComparisonMetricID("estimated_precision"), both { w in
                    .expectedRate(e(w).truePositives, e(w).truePositives + e(w).falsePositives)
                }, true))
                out.append((ComparisonMetricID("estimated_recall"), both { w in
                    .expectedRate(e(w).truePositives, e(w).truePositives + e(w).falseNegatives)
                }, true))
                out.append((ComparisonMetricID("estimated_f1"), both { w in
                    .f1(e(w).truePositives, e(w).falsePositives, e(w).falseNegatives, n: e(w).count)
                }, true))
            }
            out += segmentPairs(a, b)
        case .regression:
            out.append((ComparisonMetricID("quality_mae"), both { w in
                let r = w.regression
                guard r.count >= 2 else { return nil }
                let n = Double(r.count)
                let mae = r.absoluteErrorSum / n
                return SideEstimate(value: mae, variance: max(0, (r.squaredErrorSum - n * mae * mae) / (n - 1)), n: r.count)
            }, false))
        case .generative:
            break
        }
        for (source, key) in [("prediction", \BucketAggregate.predictionMetrics), ("label", \BucketAggregate.labelMetrics)] {
            let names = Set(a[keyPath: key].keys).intersection(b[keyPath: key].keys).sorted()
            for name in names {
                let (x, y) = (a[keyPath: key][name]!, b[keyPath: key][name]!)
                let mean = (SideEstimate.mean(x.moments), SideEstimate.mean(y.moments))
                out.append((ComparisonMetricID("metric_value", metricName: name, source: source, stat: "mean"),
                    mean.0.flatMap { m in mean.1.map { (m, $0) } }, false))
                guard Self.isLatencyLike(name) else { continue }
                let p95 = (
                    SideEstimate.quantile(x.sketch, 0.95, count: x.moments.count),
                    SideEstimate.quantile(y.sketch, 0.95, count: y.moments.count)
                )
                out.append((ComparisonMetricID("metric_value", metricName: name, source: source, stat: "p95"),
                    p95.0.flatMap { m in p95.1.map { (m, $0) } }, false))
            }
        }
        for spec in Set(a.groupMetrics.keys).intersection(b.groupMetrics.keys).sorted() {
            let (x, y) = (a.groupMetrics[spec]!, b.groupMetrics[spec]!)
            for group in Set(x.keys).intersection(y.keys).sorted() {
                out += groupMetricPairs(x[group], y[group], spec, group)
            }
        }
        return out
    }

    /// Per configured segment group, precision and true positive rate; per segment, the
    /// equal-opportunity gap (the largest minus the smallest group TPR). The gap's variance is
    /// the sum of its two extreme groups' binomial variances (a delta-method approximation that
    /// ignores which groups are extreme).
    static func segmentPairs(_ a: BucketAggregate, _ b: BucketAggregate)
        -> [(ComparisonMetricID, (SideEstimate, SideEstimate)?, Bool)]
    {
        var out: [(ComparisonMetricID, (SideEstimate, SideEstimate)?, Bool)] = []
        for spec in Set(a.groups.keys).intersection(b.groups.keys).sorted() {
            let (x, y) = (a.groups[spec]!, b.groups[spec]!)
            for group in Set(x.keys).intersection(y.keys).sorted() {
                let (g, h) = (x[group]!, y[group]!)
                for (name, rate) in [
                    ("segment_precision", { (c: GroupCounters) in SideEstimate.rate(c.truePositives, c.truePositives + c.falsePositives) }),
                    ("segment_tpr", { (c: GroupCounters) in SideEstimate.rate(c.truePositives, c.truePositives + c.falseNegatives) }),
                ] {
                    let pair = rate(g).flatMap { p in rate(h).map { (p, $0) } }
                    out.append((ComparisonMetricID(name, segment: spec, group: group), pair, false))
                }
            }
            let gap = (opportunityGap(x), opportunityGap(y))
            out.append((
                ComparisonMetricID("fairness_equal_opportunity_difference", segment: spec),
                gap.0.flatMap { p in gap.1.map { (p, $0) } }, false
            ))
        }
        return out
    }

    /// Per group, the mean of each prediction and label metric both sides carry.
    static func groupMetricPairs(_ x: GroupMetrics?, _ y: GroupMetrics?, _ spec: String, _ group: String)
        -> [(ComparisonMetricID, (SideEstimate, SideEstimate)?, Bool)]
    {
        guard let x, let y else { return [] }
        var out: [(ComparisonMetricID, (SideEstimate, SideEstimate)?, Bool)] = []
        for (source, a, b) in [("prediction", x.prediction, y.prediction), ("label", x.label, y.label)] {
            for name in Set(a.keys).intersection(b.keys).sorted() {
                let pair = SideEstimate.mean(a[name]!).flatMap { m in SideEstimate.mean(b[name]!).map { (m, $0) } }
                let id = ComparisonMetricID(
                    "metric_value", metricName: name, source: source, stat: "mean", segment: spec, group: group)
                out.append((id, pair, false))
            }
        }
        return out
    }

    /// The TPR gap of a segment's groups (at least two with positives), with its variance.
    static func opportunityGap(_ groups: [String: GroupCounters]) -> SideEstimate? {
        let rates = groups.values.compactMap { c -> (rate: Double, positives: Int)? in
            let positives = c.truePositives + c.falseNegatives
            return positives > 0 ? (Double(c.truePositives) / Double(positives), positives) : nil
        }
        guard rates.count >= 2, let high = rates.max(by: { $0.rate < $1.rate }),
            let low = rates.min(by: { $0.rate < $1.rate })
        else { return nil }
        let se2 = high.rate * (1 - high.rate) / Double(high.positives) + low.rate * (1 - low.rate) / Double(low.positives)
        let n = high.positives + low.positives
        // Stated per observation, so variance / n is the gap's squared standard error.
        return SideEstimate(value: high.rate - low.rate, variance: se2 * Double(n), n: n)
    }

    /// The z-test an entry without counts is decided by, when not Welch's t: `quantile_z` for a
    /// sketch's p95, `gap_z` for a fairness gap, `delta_z` for F1 (a rate: default margin 0.01).
    static func zTest(_ id: ComparisonMetricID) -> String? {
        if id.stat == "p95" { return "quantile_z" }
        if id.name.hasPrefix("fairness_") { return "gap_z" }
        if id.name.hasSuffix("_f1") { return "delta_z" }
        return nil
    }

    /// Latency, duration and time metrics get a p95 entry (a variance increase shows there
    /// before it moves the mean), and are better lower.
    static func isLatencyLike(_ name: String) -> Bool {
        let n = name.lowercased()
        return ["latency", "duration", "elapsed", "response_time"].contains { n.contains($0) }
            || ["_ms", "_seconds", "_us"].contains { n.hasSuffix($0) }
    }

    /// The natural direction of an entry, when its name tells.
    static func naturalDirection(_ id: ComparisonMetricID) -> MetricDirection? {
        switch id.name {
        case "quality_mae", "quality_rmse": return .lowerIsBetter
        case let n where n.hasPrefix("fairness_"): return .lowerIsBetter
        case let n where n.hasPrefix("quality_") || n.hasPrefix("estimated_") || n.hasPrefix("segment_"):
            return .higherIsBetter
        default:
            guard let name = id.metricName else { return nil }
            return isLatencyLike(name) || ["error", "cost", "hallucination", "toxicity", "violation"].contains {
                name.lowercased().contains($0)
            } ? .lowerIsBetter : nil
        }
    }

    /// One entry: fixed-horizon interval and test, always-valid interval and p-value, and the
    /// release configuration's say on it.
    static func entry(
        _ id: ComparisonMetricID, _ x: SideEstimate, _ y: SideEstimate, provisional: Bool, defaultGuardrail: Bool,
        release: ReleaseConfig
    ) -> ComparisonEntry {
        let guardrail = release.guardrails.first { $0.matches(id) }
        let success = release.success.first { $0.matches(id) }
        // A group's custom metric is never a guardrail itself (it holds a promotion back, as
        // every per-group entry does); it takes its direction from the metric's configuration.
        let overall = ComparisonMetricID(id.name, metricName: id.metricName, source: id.source, stat: id.stat)
        let configured =
            guardrail ?? success
            ?? (id.isSegment && id.metricName != nil
                ? (release.guardrails + release.success).first { $0.matches(overall) } : nil)
        let isDefaultGuardrail = release.guardrails.isEmpty && defaultGuardrail
        var e = ComparisonEntry(
            id: id, baseline: x.value, candidate: y.value, test: "welch_t", n: (x.n, y.n),
            direction: configured?.direction ?? naturalDirection(id), limit: id.isSegment ? nil : configured?.limit,
            guardrail: guardrail != nil || isDefaultGuardrail, success: success != nil, provisional: provisional,
            variances: (x.variance, y.variance))
        let d = y.value - x.value
        if let s1 = x.successes, let s2 = y.successes {
            e.test = "two_proportion_z"
            e.interval = HypothesisTests.proportionDifferenceInterval(successes1: s1, trials1: x.n, successes2: s2, trials2: y.n)
            e.pValue = HypothesisTests.twoProportionZ(successes1: s1, trials1: x.n, successes2: s2, trials2: y.n)?.pValue
            e.margin = e.guardrail ? configured?.margin ?? 0.01 : configured?.margin
        } else if let test = zTest(id) {
            // Normal approximations with the variances built above: sketch quantiles, gaps, F1.
            e.test = test
            let se = (x.variance / Double(x.n) + y.variance / Double(y.n)).squareRoot()
            if se > 0 {
                e.interval = Interval95(lower: d - HypothesisTests.z95 * se, upper: d + HypothesisTests.z95 * se)
                e.pValue = 2 * SpecialFunctions.normalSurvival(abs(d) / se)
            }
            let defaultMargin = test == "delta_z" ? 0.01 : 0.05 * abs(x.value)
            e.margin = e.guardrail ? configured?.margin ?? defaultMargin : configured?.margin
        } else {
            e.interval = HypothesisTests.welchInterval(
                mean1: x.value, variance1: x.variance, count1: x.n, mean2: y.value, variance2: y.variance, count2: y.n)
            e.pValue = HypothesisTests.welch(
                mean1: x.value, variance1: x.variance, count1: x.n, mean2: y.value, variance2: y.variance, count2: y.n)?
                .pValue
            e.margin = e.guardrail ? configured?.margin ?? 0.05 * abs(x.value) : configured?.margin
        }
        e.sequential = ConfidenceSequence.result(
            difference: d, standardError2: x.variance / Double(x.n) + y.variance / Double(y.n), n: x.n + y.n,
            tuning: release.sequentialTuning)
        if let improvement = e.improvement { e.worse = improvement.upper < 0 }
        return e
    }
}
