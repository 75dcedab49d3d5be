import Testing

@testable import VigilStats

/// TimeLength and significance tests against statsmodels and scipy (tools/fixtures/generate.py).
@Suite struct HypothesisTestsTests {
    struct Case: Decodable {
        var kind: String
        var x1: Int?, n1: Int?, x2: Int?, n2: Int?, wilson: [Double?]?, z: Double?, z_pvalue: Double?
        var a: [Double]?, b: [Double]?, t: Double?, df: Double?, pvalue: Double?
        var p: [Double]?, adjusted: [Double?]?
    }

    static func moments(_ values: [Double]) -> Moments {
        var m = Moments()
        values.forEach { m.add($0) }
        return m
    }

    @Test func agreeWithStatsmodelsAndScipy() throws {
        let fixture = try FixtureFile<Case>.load("tests")
        #expect(fixture.cases.count >= 200)
        for (i, c) in fixture.cases.enumerated() {
            switch c.kind {
            case "proportions":
                let interval = try #require(HypothesisTests.wilson(successes: c.x1!, trials: c.n1!))
                expectStatistic(interval.lower, c.wilson![0], "case \(i) Wilson lower")
                expectStatistic(interval.upper, c.wilson![1], "case \(i) Wilson upper")
                let z = HypothesisTests.twoProportionZ(
                    successes1: c.x1!, trials1: c.n1!, successes2: c.x2!, trials2: c.n2!)
                if let expected = c.z {
                    expectStatistic(z?.statistic, expected, "case \(i) z")
                    expectPValue(z?.pValue, c.z_pvalue, "case \(i) z p-value")
                }
            case "welch":
                let a = Self.moments(c.a!)
                let b = Self.moments(c.b!)
                let r = try #require(
                    HypothesisTests.welch(
                        mean1: a.mean, variance1: a.sampleVariance!, count1: a.count,
                        mean2: b.mean, variance2: b.sampleVariance!, count2: b.count))
                // Moments are accumulated one value at a time (Welford), scipy works on the whole
                // array: the agreement is to floating-point rounding, held to the statistic bar.
                expectStatistic(r.t, c.t, "case \(i) Welch t")
                expectStatistic(r.degreesOfFreedom, c.df, "case \(i) Welch df")
                expectPValue(r.pValue, c.pvalue, "case \(i) Welch p")
            case "bh":
                let adjusted = HypothesisTests.benjaminiHochberg(c.p!)
                for (x, e) in zip(adjusted, c.adjusted!) { expectPValue(x, e, "case \(i) BH") }
            default:
                Issue.record("unknown kind \(c.kind)")
            }
        }
    }

    @Test func degenerateInputsGiveNil() {
        #expect(HypothesisTests.wilson(successes: 0, trials: 0) == nil)
        #expect(HypothesisTests.twoProportionZ(successes1: 0, trials1: 10, successes2: 0, trials2: 10) == nil)
        #expect(HypothesisTests.welch(mean1: 1, variance1: 1, count1: 1, mean2: 2, variance2: 1, count2: 5) == nil)
        #expect(HypothesisTests.benjaminiHochberg([]).isEmpty)
    }
}
