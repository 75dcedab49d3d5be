import Testing
import VigilStats

@testable import VigilCore

/// The verdict rule of DESIGN §5 on merged buckets, and the sequential simulation of issue 12:
/// identical sides looked at 100 times are rarely rolled back, a worse candidate is caught.
@Suite struct ReleaseVerdictTests {
    static let baseline = ComparisonSide(variant: "control")
    static let candidate = ComparisonSide(variant: "canary")

    /// Adds `count` labelled predictions of a binary fraud model: half predicted fraud, right
    /// with probability `precision` (and `okPrecision` for those predicted ok).
    static func add(
        _ count: Int, precision: Double, okPrecision: Double = 0.9, to w: inout BucketAggregate,
        using random: inout SplitMix64
    ) {
        for i in 0..<count {
            let fraud = i % 2 == 0
            let right = Double.random(in: 0..<1, using: &random) < (fraud ? precision : okPrecision)
            let truth = fraud == right ? "fraud" : "ok"
            w.confusion.add(truth: truth, predicted: fraud ? "fraud" : "ok")
            w.predictions += 1
            w.labeled += 1
        }
    }

    static func compare(_ a: BucketAggregate, _ b: BucketAggregate, release: ReleaseConfig = ReleaseConfig(), task: ModelTask = .binary)
        -> ComparisonDocument
    {
        ComparisonDocument.build(
            model: "fraud", window: "1h", span: (0, 3_600_000), baseline: (baseline, a), candidate: (candidate, b),
            task: task, positiveClass: "fraud", release: release)
    }

    /// 200 A/A experiments of 100 looks, 40 more predictions per side at each: the confidence
    /// sequence rolls back at most α of them, where repeating the fixed-horizon test at every
    /// look would roll back far more; and a candidate whose precision is 0.65 against 0.80 is
    /// caught in nearly every experiment.
    @Test func repeatedLooksKeepTheFalseRollbackRateUnderAlpha() async {
        var release = ReleaseConfig()
        release.minSamples = 100
        var random = SplitMix64(state: 20_261_202)
        var falseRollbacks = 0
        var fixedHorizonAlarms = 0
        var caught = 0
        let experiments = 200
        for _ in 0..<experiments {
            var (a, b) = (BucketAggregate(), BucketAggregate())
            var (aa, worse) = (false, false)
            var fixedAlarm = false
            var (c, d) = (BucketAggregate(), BucketAggregate())
            // Seconds of arithmetic: give the two cooperative threads back between experiments,
            // so tests beside it that serve HTTP are not starved.
            await Task.yield()
            for _ in 0..<100 {
                Self.add(40, precision: 0.8, to: &a, using: &random)
                Self.add(40, precision: 0.8, to: &b, using: &random)
                Self.add(40, precision: 0.8, to: &c, using: &random)
                Self.add(40, precision: 0.65, to: &d, using: &random)
                let same = Self.compare(a, b, release: release)
                if same.verdict == .rollback { aa = true }
                if same.metrics.contains(where: { $0.guardrail && ($0.pValue ?? 1) < 0.05 && $0.difference < 0 }) {
                    fixedAlarm = true
                }
                if !worse, Self.compare(c, d, release: release).verdict == .rollback { worse = true }
            }
            if aa { falseRollbacks += 1 }
            if fixedAlarm { fixedHorizonAlarms += 1 }
            if worse { caught += 1 }
        }
        let rate = Double(falseRollbacks) / Double(experiments)
        print("sequential simulation: false rollbacks \(falseRollbacks)/\(experiments), fixed-horizon alarms \(fixedHorizonAlarms)/\(experiments), worse caught \(caught)/\(experiments)")
        #expect(rate <= 0.05, "false rollback rate \(rate)")
        #expect(fixedHorizonAlarms > 3 * max(1, falseRollbacks), "the simulation cannot tell the tests apart")
        #expect(caught >= experiments * 95 / 100, "caught \(caught) of \(experiments)")
    }

    @Test func aSuccessMetricMustBeSignificantlyBetterToPromote() {
        var random = SplitMix64(state: 1)
        var (a, b) = (BucketAggregate(), BucketAggregate())
        Self.add(6_000, precision: 0.85, to: &a, using: &random)
        Self.add(6_000, precision: 0.85, to: &b, using: &random)
        var release = ReleaseConfig()
        release.guardrails = [ReleaseMetricConfig(metric: "quality_accuracy", margin: 0.05)]
        #expect(Self.compare(a, b, release: release).verdict == .promote)
        release.success = [ReleaseMetricConfig(metric: "quality_precision")]
        let document = Self.compare(a, b, release: release)
        #expect(document.verdict == .inconclusive)
        #expect(document.reason == "no success metric is significantly better yet")
        #expect(document.neededPerSide != nil)
        #expect(document.metrics.first { $0.id.name == "quality_precision" }?.success == true)
    }

    /// `count` labelled predictions, half predicted fraud, with exactly the given precisions.
    static func exact(_ count: Int, precision: Double, okPrecision: Double = 0.9) -> BucketAggregate {
        var w = BucketAggregate()
        let half = count / 2
        let rightFraud = Int((precision * Double(half)).rounded())
        let rightOk = Int((okPrecision * Double(count - half)).rounded())
        for (truth, predicted, n) in [
            ("fraud", "fraud", rightFraud), ("ok", "fraud", half - rightFraud), ("ok", "ok", rightOk),
            ("fraud", "ok", count - half - rightOk),
        ] {
            for _ in 0..<n { w.confusion.add(truth: truth, predicted: predicted) }
        }
        w.predictions = count
        w.labeled = count
        return w
    }

    /// `needed_per_side` is the always-valid test's: an inconclusive comparison, run again with
    /// that many per side at the same rates, is decided; at a quarter of it, it is not.
    @Test func theSampleNeededPerSideDecidesTheComparison() throws {
        let early = Self.compare(Self.exact(600, precision: 0.85), Self.exact(600, precision: 0.82))
        #expect(early.verdict == .inconclusive, "\(early.reason)")
        let needed = try #require(early.neededPerSide)
        let decided = Self.compare(Self.exact(needed, precision: 0.85), Self.exact(needed, precision: 0.82))
        #expect(decided.verdict == .rollback, "at \(needed) per side: \(decided.reason)")
        let quarter = Self.compare(Self.exact(needed / 4, precision: 0.85), Self.exact(needed / 4, precision: 0.82))
        #expect(quarter.verdict == .inconclusive, "at \(needed / 4) per side: \(quarter.reason)")
        // More than a fixed-horizon test would need: the price of looking at every evaluation.
        let precision = try #require(early.metrics.first { $0.id.name == "quality_precision" })
        let fixed = try #require(
            HypothesisTests.sampleSizePerSide(
                difference: precision.difference, variance1: precision.variances.baseline,
                variance2: precision.variances.candidate))
        #expect(needed > fixed)
    }

    @Test func aConfiguredGuardrailWithoutDataBlocksPromotion() {
        var random = SplitMix64(state: 2)
        var (a, b) = (BucketAggregate(), BucketAggregate())
        Self.add(6_000, precision: 0.85, to: &a, using: &random)
        Self.add(6_000, precision: 0.85, to: &b, using: &random)
        var release = ReleaseConfig()
        release.guardrails = [
            ReleaseMetricConfig(metric: "quality_accuracy", margin: 0.05),
            ReleaseMetricConfig(metric: "metric_value", name: "latency_ms", stat: "p95"),
        ]
        let document = Self.compare(a, b, release: release)
        #expect(document.verdict == .inconclusive)
        #expect(document.reason == "guardrail metric_value latency_ms p95 has no data on both sides")
    }

    /// Before labels, CBPE's estimates are the guardrails and a verdict on them is provisional.
    @Test func verdictsOnEstimatesAloneAreProvisional() {
        var (a, b) = (BucketAggregate(), BucketAggregate())
        for i in 0..<4_000 {
            a.expected.add(predictedPositive: i % 2 == 0, probability: i % 2 == 0 ? 0.9 : 0.1)
            b.expected.add(predictedPositive: i % 2 == 0, probability: i % 2 == 0 ? 0.55 : 0.1)
            a.predictions += 1
            b.predictions += 1
        }
        let document = Self.compare(a, b)
        #expect(document.verdict == .rollback)
        #expect(document.provisional)
        #expect(document.reason.hasPrefix("estimated_precision fell by"), "\(document.reason)")
        #expect(document.metrics.allSatisfy { $0.provisional == $0.id.name.hasPrefix("estimated_") })
    }

    /// A baseline without a single error against a candidate that errs: the zero variance of
    /// one side must not hide the other's.
    @Test func aZeroErrorBaselineDoesNotLetAnErringCandidatePass() {
        var (a, b) = (BucketAggregate(), BucketAggregate())
        var release = ReleaseConfig()
        release.guardrails = [ReleaseMetricConfig(metric: "metric_value", name: "errors", direction: .lowerIsBetter)]
        for i in 0..<2_000 {
            a.predictions += 1
            b.predictions += 1
            a.predictionMetrics["errors", default: MetricAggregate()].add(0)
            b.predictionMetrics["errors", default: MetricAggregate()].add(i % 20 == 0 ? 1 : 0)
        }
        let document = Self.compare(a, b, release: release)
        #expect(document.verdict == .rollback, "\(document.reason)")
        #expect(document.reason.hasPrefix(#"metric_value{metric="errors",source="prediction",stat="mean"} rose by 0.05"#))
    }

    /// The same mean latency with a long tail on the candidate: the p95 entry shows it.
    @Test func aVarianceIncreaseShowsInTheP95() throws {
        var (a, b) = (BucketAggregate(), BucketAggregate())
        var random = SplitMix64(state: 3)
        for _ in 0..<5_000 {
            a.predictions += 1
            b.predictions += 1
            let base = Double.random(in: 90...110, using: &random)
            a.predictionMetrics["latency_ms", default: MetricAggregate()].add(base)
            // Same mean (100), wider spread.
            b.predictionMetrics["latency_ms", default: MetricAggregate()].add(100 + (base - 100) * 4)
        }
        let document = Self.compare(a, b, task: .generative)
        let mean = try #require(document.metrics.first { $0.id.metricName == "latency_ms" && $0.id.stat == "mean" })
        let p95 = try #require(document.metrics.first { $0.id.metricName == "latency_ms" && $0.id.stat == "p95" })
        #expect((mean.pValue ?? 0) > 0.01)
        #expect(p95.difference > 20 && (p95.pValue ?? 1) < 1e-6)
        #expect(p95.direction == .lowerIsBetter && p95.test == "quantile_z")
        #expect(p95.worse == true)
    }

    @Test func sidesParse() throws {
        #expect(try ComparisonSide.parse("version:v2,variant:canary").get() == ComparisonSide(version: "v2", variant: "canary"))
        #expect(try ComparisonSide.parse("variant:a:b").get() == ComparisonSide(variant: "a:b"))
        for bad in ["", "version", "version:", "colour:red", "version:a,version:b", "variant:a\u{1}"] {
            #expect((try? ComparisonSide.parse(bad).get()) == nil, "\(bad)")
        }
    }
}

extension ReleaseVerdictTests {
    /// An emoji modifier or combining mark right after ':' or ',' makes one character with it;
    /// sides split by scalars (found by Schemathesis).
    @Test func sidesSplitByScalars() throws {
        let side = try ComparisonSide.parse("version:\u{1F3FB}\u{A0}p,variant:\u{301}x").get()
        #expect(side.version == "\u{1F3FB}\u{A0}p")
        #expect(side.variant == "\u{301}x")
    }
}

extension ReleaseVerdictTests {
    /// Exact counts of one group: predicted fraud (tp, fp) and predicted ok (tn, fn).
    static func add(group: String, tp: Int, fp: Int, tn: Int, fn: Int, to w: inout BucketAggregate, segments: Bool) {
        w.confusion.add(truth: "fraud", predicted: "fraud", count: tp)
        w.confusion.add(truth: "ok", predicted: "fraud", count: fp)
        w.confusion.add(truth: "ok", predicted: "ok", count: tn)
        w.confusion.add(truth: "fraud", predicted: "ok", count: fn)
        w.predictions += tp + fp + tn + fn
        w.labeled += tp + fp + tn + fn
        guard segments else { return }
        var c = GroupCounters()
        c.predictions = tp + fp + tn + fn
        c.selected = tp + fp
        c.truePositives = tp
        c.falsePositives = fp
        c.trueNegatives = tn
        c.falseNegatives = fn
        w.groups["region", default: [:]][group] = c
    }

    /// Better overall, much worse for one region: not promoted, and the reason says where.
    @Test func aCandidateWorseForOneSegmentGroupIsNotPromoted() throws {
        func sides(segments: Bool) -> (BucketAggregate, BucketAggregate) {
            var (a, b) = (BucketAggregate(), BucketAggregate())
            for group in ["eu", "us"] {
                Self.add(group: group, tp: 8_500, fp: 1_500, tn: 9_000, fn: 1_000, to: &a, segments: segments)
            }
            Self.add(group: "eu", tp: 9_700, fp: 300, tn: 9_200, fn: 800, to: &b, segments: segments)
            Self.add(group: "us", tp: 7_500, fp: 2_500, tn: 9_200, fn: 800, to: &b, segments: segments)
            return (a, b)
        }
        let (a, b) = sides(segments: false)
        #expect(Self.compare(a, b).verdict == .promote, "\(Self.compare(a, b).reason)")
        let (c, d) = sides(segments: true)
        let document = Self.compare(c, d)
        #expect(document.verdict == .inconclusive)
        #expect(document.reason.hasPrefix(#"segment_precision{segment="region",group="us"} is worse by 0.1"#), "\(document.reason)")
        let us = try #require(document.metrics.first { $0.id.name == "segment_precision" && $0.id.group == "us" })
        #expect(us.worse == true && !us.guardrail && us.test == "two_proportion_z")
        let gap = try #require(document.metrics.first { $0.id.name == "fairness_equal_opportunity_difference" })
        #expect(gap.test == "gap_z" && gap.direction == .lowerIsBetter && gap.baseline == 0)
        // Per-group entries are in the document, not on /metrics.
        #expect(!document.samples().contains { $0.labels.contains { $0.1.hasPrefix("segment_") } })
    }
}
