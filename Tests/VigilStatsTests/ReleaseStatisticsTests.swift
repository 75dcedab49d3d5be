import Testing

@testable import VigilStats

/// The comparison statistics of issue 12 against GrowthBook's engine (`gbstats`), statsmodels
/// and scipy (tools/fixtures/generate_release.py).
@Suite struct ReleaseStatisticsTests {
    struct Case: Decodable {
        var kind: String
        var x1: Int?, n1: Int?, x2: Int?, n2: Int?, tuning: Int?
        var sequential: [Double]?, sequential_p: Double?, wald: [Double]?, welch: [Double]?
        var a: [Double]?, b: [Double]?
        var statistic: Double?, pvalue: Double?, only_first: Int?, only_second: Int?, t: Double?
        var first: [Double]?, second: [Double]?
        var df: Double?, quantile: Double?
        var difference: Double?, variance1: Double?, variance2: Double?, n: Double?
        var tp: Int?, fp: Int?, fn: Int?, tn: Int?, f1: Double?, variance: Double?
    }

    /// Interval ends to `relative` of the larger of the end and the interval's width (an end
    /// can sit at 0, where a relative bar means nothing).
    func expectInterval(
        _ actual: Interval95?, _ expected: [Double]?, relative: Double, _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard let actual, let expected, expected.count == 2 else {
            Issue.record("\(what): \(String(describing: actual)) vs \(String(describing: expected))")
            return
        }
        let scale = max(abs(expected[1] - expected[0]), 1e-300)
        for (a, e) in [(actual.lower, expected[0]), (actual.upper, expected[1])] {
            #expect(
                abs(a - e) <= relative * max(abs(e), scale), "\(what): \(actual) vs reference \(expected)",
                sourceLocation: sourceLocation)
        }
    }

    func moments(_ values: [Double]) -> Moments {
        var m = Moments()
        values.forEach { m.add($0) }
        return m
    }

    @Test func agreeWithGrowthBookStatsmodelsAndScipy() throws {
        let fixture = try FixtureFile<Case>.load("release")
        var kinds: [String: Int] = [:]
        for (i, c) in fixture.cases.enumerated() {
            kinds[c.kind, default: 0] += 1
            switch c.kind {
            case "proportions": checkProportions(c, i)
            case "means": checkMeans(c, i)
            case "mcnemar":
                let r = HypothesisTests.mcnemar(onlyFirst: c.only_first!, onlySecond: c.only_second!)
                expectStatistic(r?.statistic, c.statistic, "case \(i) McNemar χ²")
                expectPValue(r?.pValue, c.pvalue, "case \(i) McNemar p")
            case "paired_t":
                let d = moments(zip(c.first!, c.second!).map { $1 - $0 })
                let r = HypothesisTests.pairedT(meanDifference: d.mean, variance: d.sampleVariance!, count: d.count)
                expectStatistic(r?.statistic, c.t, "case \(i) paired t")
                expectPValue(r?.pValue, c.pvalue, "case \(i) paired t p")
            case "t975":
                let q = HypothesisTests.studentTQuantile975(degreesOfFreedom: c.df!)
                expectStatistic(q, c.quantile, "case \(i) t quantile at df \(c.df!)")
            case "sample_size":
                let n = try #require(
                    HypothesisTests.sampleSizePerSide(
                        difference: c.difference!, variance1: c.variance1!, variance2: c.variance2!))
                // statsmodels solves the power equation numerically (both tails); the closed form
                // rounded up agrees to a unit or 0.1%.
                let reference = try #require(c.n)
                #expect(abs(Double(n) - reference) <= max(1, 1e-3 * reference), "case \(i): \(n) vs \(reference)")
            case "sequential_sample_size":
                let n = ConfidenceSequence.sampleSizePerSide(
                    difference: c.difference!, variance1: c.variance1!, variance2: c.variance2!, tuning: c.tuning!)
                // The same search on gbstats' interval; at the boundary rounding may move it by one.
                let reference = try #require(c.n)
                #expect(n.map { abs(Double($0) - reference) <= 1 } == true, "case \(i): \(String(describing: n)) vs \(reference)")
                let fixed = try #require(
                    HypothesisTests.sampleSizePerSide(
                        difference: c.difference!, variance1: c.variance1!, variance2: c.variance2!))
                #expect(Double(fixed) < reference, "case \(i): always-valid needs more than fixed-horizon")
            case "f1_variance":
                let (tp, fp, fn) = (Double(c.tp!), Double(c.fp!), Double(c.fn!))
                let v = try #require(HypothesisTests.f1Variance(truePositives: tp, falsePositives: fp, falseNegatives: fn))
                // The reference differentiates numerically (central differences, h = 1e-6).
                #expect(abs(v - c.variance!) <= 1e-6 * c.variance!, "case \(i): \(v) vs \(c.variance!)")
                #expect(abs(2 * tp / (2 * tp + fp + fn) - c.f1!) <= 1e-12)
            default: Issue.record("unknown kind \(c.kind)")
            }
        }
        for kind in [
            "proportions", "means", "mcnemar", "paired_t", "t975", "sample_size", "sequential_sample_size", "f1_variance",
        ] {
            #expect(kinds[kind, default: 0] >= 40, "\(kind): \(kinds[kind, default: 0]) cases")
        }
    }

    func checkProportions(_ c: Case, _ i: Int) {
        let (x1, n1, x2, n2) = (c.x1!, c.n1!, c.x2!, c.n2!)
        let p1 = Double(x1) / Double(n1)
        let p2 = Double(x2) / Double(n2)
        let se2 = p1 * (1 - p1) / Double(n1) + p2 * (1 - p2) / Double(n2)
        let r = ConfidenceSequence.result(difference: p2 - p1, standardError2: se2, n: n1 + n2, tuning: c.tuning!)
        expectInterval(r?.interval, c.sequential, relative: 1e-9, "case \(i) confidence sequence")
        expectPValue(r?.pValue, c.sequential_p, "case \(i) sequential p")
        expectInterval(
            HypothesisTests.proportionDifferenceInterval(successes1: x1, trials1: n1, successes2: x2, trials2: n2),
            c.wald, relative: 1e-9, "case \(i) Wald interval")
    }

    func checkMeans(_ c: Case, _ i: Int) {
        let a = moments(c.a!)
        let b = moments(c.b!)
        let se2 = a.sampleVariance! / Double(a.count) + b.sampleVariance! / Double(b.count)
        let r = ConfidenceSequence.result(
            difference: b.mean - a.mean, standardError2: se2, n: a.count + b.count, tuning: c.tuning!)
        expectInterval(r?.interval, c.sequential, relative: 1e-9, "case \(i) confidence sequence")
        expectPValue(r?.pValue, c.sequential_p, "case \(i) sequential p")
        expectInterval(
            HypothesisTests.welchInterval(
                mean1: a.mean, variance1: a.sampleVariance!, count1: a.count, mean2: b.mean,
                variance2: b.sampleVariance!, count2: b.count),
            c.welch, relative: 1e-9, "case \(i) Welch interval")
    }

    /// Rejecting on the p-value and the interval excluding 0 are one decision.
    @Test func theSequentialPValueAndIntervalAgree() {
        var generator = SplitMix64(state: 7)
        for _ in 0..<2_000 {
            let n = Int.random(in: 10...100_000, using: &generator)
            let se2 = Double.random(in: 1e-6...1e-2, using: &generator)
            let d = Double.random(in: -0.2...0.2, using: &generator)
            guard let r = ConfidenceSequence.result(difference: d, standardError2: se2, n: n) else { continue }
            let excludesZero = r.interval.lower > 0 || r.interval.upper < 0
            // Within rounding of the boundary either answer is right.
            if abs(r.pValue - 0.05) > 1e-9 { #expect(excludesZero == (r.pValue < 0.05), "n \(n) se² \(se2) d \(d)") }
        }
        #expect(ConfidenceSequence.result(difference: 0.1, standardError2: 0, n: 10) == nil)
        #expect(ConfidenceSequence.result(difference: 0.1, standardError2: 1, n: 0) == nil)
    }

    /// The delta-method variance is the variance F1 actually has: 4,000 seeded multinomial
    /// windows of 1,000 labelled predictions, their F1's sample variance within 8% of the formula.
    @Test func theF1VarianceMatchesSimulation() {
        var generator = SplitMix64(state: 12)
        let cells = [0.3, 0.1, 0.15, 0.45]  // TP, FP, FN, TN
        let n = 1_000
        var scores = Moments()
        for _ in 0..<4_000 {
            var counts = [0, 0, 0, 0]
            for _ in 0..<n {
                let u = Double.random(in: 0..<1, using: &generator)
                counts[u < 0.3 ? 0 : u < 0.4 ? 1 : u < 0.55 ? 2 : 3] += 1
            }
            scores.add(2 * Double(counts[0]) / Double(2 * counts[0] + counts[1] + counts[2]))
        }
        let expected = HypothesisTests.f1Variance(
            truePositives: cells[0] * Double(n), falsePositives: cells[1] * Double(n), falseNegatives: cells[2] * Double(n))!
        #expect(abs(scores.sampleVariance! / expected - 1) < 0.08, "\(scores.sampleVariance!) vs \(expected)")
        #expect(HypothesisTests.f1Variance(truePositives: 10, falsePositives: 0, falseNegatives: 0) == 0)
        #expect(HypothesisTests.f1Variance(truePositives: 0, falsePositives: 0, falseNegatives: 0) == nil)
    }

    @Test func degenerateComparisonsGiveNil() {
        #expect(HypothesisTests.mcnemar(onlyFirst: 0, onlySecond: 0) == nil)
        #expect(HypothesisTests.pairedT(meanDifference: 0, variance: 0, count: 10) == nil)
        #expect(HypothesisTests.proportionDifferenceInterval(successes1: 0, trials1: 0, successes2: 1, trials2: 2) == nil)
        #expect(HypothesisTests.sampleSizePerSide(difference: 0, variance1: 1, variance2: 1) == nil)
        #expect(ConfidenceSequence.sampleSizePerSide(difference: 0, variance1: 1, variance2: 1) == nil)
        #expect(ConfidenceSequence.sampleSizePerSide(difference: 1e-9, variance1: 1, variance2: 1) == nil)
    }
}
