import Testing

@testable import VigilStats

/// The finite-n Kolmogorov distribution against `scipy.stats.kstwo`, across its computation
/// regions, and full two-sample tests above 10,000 values against `ks_2samp`.
@Suite struct KolmogorovDistributionTests {
    struct Case: Decodable {
        var kind: String
        var n: Int?, x: Double?, expected: Double?
        var n1: Int?, n2: Int?, a2: Int?, p2: Int?, scale: Double?, shift: Double?, statistic: Double?, pvalue: Double?
    }

    /// The fixture's deterministic sample: (i·a mod p)/p·scale + shift.
    static func lattice(_ n: Int, _ a: Int, _ p: Int, scale: Double = 1, shift: Double = 0) -> [Double] {
        (0..<n).map { Double((($0 * a) % p)) / Double(p) * scale + shift }
    }

    @Test func survivalAgreesWithScipyKstwo() throws {
        let fixture = try FixtureFile<Case>.load("kolmogorov")
        let cases = fixture.cases.filter { $0.kind == "kstwo" }
        #expect(cases.count >= 200)
        for c in cases {
            expectPValue(KolmogorovDistribution.survival(c.x!, n: c.n!), c.expected, "kstwo.sf(\(c.x!), \(c.n!))")
        }
    }

    @Test func largeTwoSampleTestsAgreeWithKs2samp() throws {
        let fixture = try FixtureFile<Case>.load("kolmogorov")
        let cases = fixture.cases.filter { $0.kind == "two_sample" }
        #expect(cases.count >= 5)
        for c in cases {
            let a = Self.lattice(c.n1!, 7919, 10007)
            let b = Self.lattice(c.n2!, c.a2!, c.p2!, scale: c.scale!, shift: c.shift!)
            let result = try #require(KolmogorovSmirnov.test(a, b))
            #expect(result.method == .asymptotic)
            expectStatistic(result.statistic, c.statistic, "D for n1=\(c.n1!), n2=\(c.n2!)")
            expectPValue(result.pValue, c.pvalue, "p for n1=\(c.n1!), n2=\(c.n2!)")
        }
    }
}
