import Testing

@testable import VigilStats

/// Drift statistics against scipy (KS statistic, Wasserstein, JS distance, chi-square) and the
/// DESIGN §4 PSI definition computed with numpy (tools/fixtures/generate.py).
@Suite struct DriftStatisticsTests {
    struct NumericCase: Decodable {
        var reference: [Double], current: [Double], edges: [Double]
        var reference_counts: [Int], current_counts: [Int]
        var psi: Double?, js_distance: Double?, wasserstein: Double?, ks_statistic: Double?, ks_pvalue: Double?
    }

    struct CategoricalCase: Decodable {
        var reference: [Int], current: [Int]
        var psi: Double?, js_distance: Double?, chi2_statistic: Double?, chi2_pvalue: Double?, chi2_dof: Int
    }

    @Test func numericDriftAgreesWithTheReferences() throws {
        let fixture = try FixtureFile<NumericCase>.load("drift_numeric")
        #expect(fixture.cases.count >= 200)
        for (i, c) in fixture.cases.enumerated() {
            let edges = try #require(ReferenceBins.decileEdges(c.reference))
            #expect(edges.count == c.edges.count, "case \(i) edges")
            for (e, x) in zip(edges, c.edges) { expectStatistic(e, x, "case \(i) decile edge") }
            var reference = try #require(BinnedHistogram(edges: edges))
            var current = try #require(BinnedHistogram(edges: edges))
            c.reference.forEach { reference.add($0) }
            c.current.forEach { current.add($0) }
            #expect(
                reference.counts == c.reference_counts && current.counts == c.current_counts, "case \(i) bin counts")
            expectStatistic(
                DriftStatistics.psi(reference: reference.counts, current: current.counts), c.psi, "case \(i) PSI")
            expectStatistic(
                DriftStatistics.jensenShannonDistance(reference: reference.counts, current: current.counts),
                c.js_distance, "case \(i) JS distance")
            expectStatistic(DriftStatistics.wasserstein(c.reference, c.current), c.wasserstein, "case \(i) Wasserstein")
            expectStatistic(
                DriftStatistics.ksStatistic(c.reference, c.current), c.ks_statistic, "case \(i) KS statistic")
            let ks = try #require(KolmogorovSmirnov.test(c.reference, c.current))
            #expect(ks.method == .exact)
            expectStatistic(ks.statistic, c.ks_statistic, "case \(i) KS statistic (test)")
            expectPValue(
                ks.pValue, c.ks_pvalue, "case \(i) KS exact p-value (n=\(c.reference.count), m=\(c.current.count))")
        }
    }

    @Test func categoricalDriftAgreesWithTheReferences() throws {
        let fixture = try FixtureFile<CategoricalCase>.load("drift_categorical")
        #expect(fixture.cases.count >= 200)
        for (i, c) in fixture.cases.enumerated() {
            expectStatistic(DriftStatistics.psi(reference: c.reference, current: c.current), c.psi, "case \(i) PSI")
            expectStatistic(
                DriftStatistics.jensenShannonDistance(reference: c.reference, current: c.current), c.js_distance,
                "case \(i) JS")
            let chi = try #require(DriftStatistics.chiSquareContingency([c.reference, c.current]))
            expectStatistic(chi.statistic, c.chi2_statistic, "case \(i) chi2 statistic")
            expectPValue(chi.pValue, c.chi2_pvalue, "case \(i) chi2 p-value")
            #expect(chi.degreesOfFreedom == c.chi2_dof)
        }
    }

    @Test func emptyInputsGiveNil() {
        #expect(DriftStatistics.psi(reference: [0, 0], current: [1, 2]) == nil)
        #expect(DriftStatistics.jensenShannonDistance(reference: [], current: []) == nil)
        #expect(DriftStatistics.wasserstein([], [1]) == nil)
        #expect(DriftStatistics.ksStatistic([1], []) == nil)
        #expect(DriftStatistics.chiSquareContingency([[5, 0], [3, 0]]) == nil)
        #expect(ReferenceBins.decileEdges([.nan]) == nil)
        #expect(BinnedHistogram(edges: [1, 1]) == nil)
    }
}
