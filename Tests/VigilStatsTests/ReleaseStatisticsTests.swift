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
            default: Issue.record("unknown kind \(c.kind)")
            }
        }
        for kind in ["proportions", "means", "mcnemar", "paired_t", "t975", "sample_size"] {
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

    @Test func degenerateComparisonsGiveNil() {
        #expect(HypothesisTests.mcnemar(onlyFirst: 0, onlySecond: 0) == nil)
        #expect(HypothesisTests.pairedT(meanDifference: 0, variance: 0, count: 10) == nil)
        #expect(HypothesisTests.proportionDifferenceInterval(successes1: 0, trials1: 0, successes2: 1, trials2: 2) == nil)
        #expect(HypothesisTests.sampleSizePerSide(difference: 0, variance1: 1, variance2: 1) == nil)
    }
}
