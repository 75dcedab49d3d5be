import Foundation
import Testing

@testable import VigilStats

/// KS and Wasserstein over fine reference bins (FineBinDrift) against the exact statistics on
/// every value (KolmogorovSmirnov and DriftStatistics.wasserstein, themselves checked against
/// scipy in DriftStatisticsTests): streams of a million values, and the same streams folded as
/// merged partial counts. The bounds are the README's exactness table.
///
/// The streams are generated and measured on a thread of their own, one case at a time, so the
/// seconds of arithmetic never hold the cooperative pool other suites' servers answer on.
@Suite(.serialized) struct FineBinsTests {
    /// Runs `work` on a new thread at the lowest priority, off the cooperative pool.
    static func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                // Linux nice values are per thread: the arithmetic takes only CPU that the servers
                // and receivers other suites start do not need.
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
                continuation.resume(with: Result { try work() })
            }.start()
        }
    }

    struct Measured: Sendable {
        var result: FineBinDrift.Result?
        var exact: KSResult?
        var w: Double?
    }

    /// Box–Muller normal variates from a seeded generator.
    struct Draws {
        var random: SplitMix64
        init(_ seed: UInt64) { random = SplitMix64(state: seed) }
        mutating func uniform() -> Double { Double.random(in: Double.ulpOfOne..<1, using: &random) }
        mutating func normal(_ mean: Double = 0, _ sd: Double = 1) -> Double {
            mean + sd * (-2 * log(uniform())).squareRoot() * cos(2 * .pi * uniform())
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var seed: UInt64
        var referenceCount: Int
        var currentCount: Int
        /// Whether the two sides come from different distributions (Wasserstein above the noise).
        var differ: Bool
        var reference: @Sendable (inout Draws) -> Double
        var current: @Sendable (inout Draws) -> Double
        var testDescription: String { name }
    }

    /// Streams of a million values where the bounds are tightest (small drifts, heavy tails);
    /// 200,000 elsewhere, to keep the suite's CPU within what the machine's other tests need.
    static let million = 1_000_000

    static let cases: [Case] = [
        Case(
            name: "normal shifted by 0.02 sd", seed: 1, referenceCount: 50_000, currentCount: million, differ: true,
            reference: { $0.normal() }, current: { $0.normal(0.02) }),
        Case(
            name: "normal, same distribution", seed: 2, referenceCount: 50_000, currentCount: 200_000, differ: false,
            reference: { $0.normal() }, current: { $0.normal() }),
        Case(
            name: "lognormal 3% wider", seed: 3, referenceCount: 200_000, currentCount: million, differ: true,
            reference: { exp($0.normal()) }, current: { exp($0.normal(0, 1.03)) }),
        Case(
            name: "exponential, same distribution", seed: 4, referenceCount: 200_000, currentCount: 200_000,
            differ: false, reference: { -log($0.uniform()) }, current: { -log($0.uniform()) }),
        Case(
            name: "integer counts shifted", seed: 5, referenceCount: 50_000, currentCount: 200_000, differ: true,
            reference: { ($0.normal(10, 3)).rounded() }, current: { ($0.normal(10.1, 3)).rounded() }),
        Case(
            name: "30% zeros and a normal, the normal moved", seed: 6, referenceCount: 50_000, currentCount: 200_000,
            differ: true, reference: { $0.uniform() < 0.3 ? 0 : $0.normal(5) },
            current: { $0.uniform() < 0.3 ? 0 : $0.normal(5.05) }),
        Case(
            name: "wider than the reference's range", seed: 7, referenceCount: 50_000, currentCount: 200_000,
            differ: true, reference: { $0.normal() }, current: { $0.normal(0, 1.5) }),
        Case(
            name: "side-by-side column, rounded to 3 decimals", seed: 8, referenceCount: 50_000, currentCount: 100_000,
            differ: false, reference: { ($0.normal(400, 10) * 1000).rounded() / 1000 },
            current: { ($0.normal(400, 10) * 1000).rounded() / 1000 }),
    ]

    static func sample(_ c: Case) -> (reference: [Double], current: [Double]) {
        var draws = Draws(c.seed)
        let reference = (0..<c.referenceCount).map { _ in c.reference(&draws) }.sorted()
        let current = (0..<c.currentCount).map { _ in c.current(&draws) }
        return (reference, current)
    }

    /// `nil` counts when a value was refused (a bin full), which these streams cannot reach.
    static func counts(_ values: some Collection<Double>, _ layout: FineBinLayout) -> FineCounts {
        var f = FineCounts(binCount: layout.binCount)
        for x in values { precondition(f.add(x, bin: layout.bin(of: x), layout: layout)) }
        return f
    }

    @Test(arguments: cases) func withinTheStatedBoundsOfTheExactStatistics(_ c: Case) async throws {
        let measured = try await Self.offPool { () -> Measured in
            let (reference, current) = Self.sample(c)
            guard let layout = FineBinLayout(sorted: reference) else { return Measured() }
            return Measured(
                result: FineBinDrift.compare(layout, Self.counts(current, layout)),
                exact: KolmogorovSmirnov.test(reference, current), w: DriftStatistics.wasserstein(reference, current))
        }
        let result = try #require(measured.result)
        let exact = try #require(measured.exact)
        let w = try #require(measured.w)

        // KS: D̂ ≤ D ≤ D̂ + bound, within 0.002 of D, and the p-value on the same side of 0.05.
        #expect(result.ks.value <= exact.statistic + 1e-12)
        #expect(exact.statistic <= result.ks.value + result.ks.bound + 1e-12)
        #expect(abs(result.ks.value - exact.statistic) <= 0.002, "D \(result.ks.value) vs \(exact.statistic)")
        #expect(result.pValueRange.contains(exact.pValue) || abs(result.pValue - exact.pValue) < 1e-12)
        #expect(result.pValue >= exact.pValue - 1e-12, "the reported p-value is the conservative end")
        #expect((result.pValue < 0.05) == (exact.pValue < 0.05), "p \(result.pValue) vs \(exact.pValue)")

        // Wasserstein: Ŵ ≤ W ≤ Ŵ + β (positions are floats: 1e-6 relative), within 0.5% when the
        // distributions differ and 1% when W is sampling noise alone.
        let ŵ = result.wasserstein.value
        #expect(ŵ <= w * (1 + 1e-6))
        #expect(w <= (ŵ + result.wasserstein.bound) * (1 + 1e-6) + 1e-12)
        let relative = abs(ŵ / w - 1)
        #expect(relative <= (c.differ ? 0.005 : 0.01), "W \(ŵ) vs \(w): \(relative)")
        print(
            "fine bins, \(c.name): D \(result.ks.value) vs \(exact.statistic) (bound \(result.ks.bound)), "
                + "p \(result.pValue) vs \(exact.pValue), W off by \(ŵ / w - 1) (bound \(result.wasserstein.bound / w))")
    }

    /// Counts folded in partial buckets and merged equal the whole stream's: counts exactly,
    /// statistics to the positions' float rounding.
    @Test func mergedPartialsEqualTheWholeStream() async throws {
        struct Folded: Sendable {
            var layout: FineBinLayout?
            var whole: FineCounts?
            var merged: FineCounts?
            var roundTrips = true
            var merges = true
            var exact: Double?
        }
        let folded = try await Self.offPool { () -> Folded in
            let (reference, current) = Self.sample(Self.cases[2])
            guard let layout = FineBinLayout(sorted: reference) else { return Folded() }
            var out = Folded(layout: layout, whole: Self.counts(current, layout))
            var random = SplitMix64(state: 42)
            var cuts = (0..<199).map { _ in Int.random(in: 0...current.count, using: &random) }.sorted()
            cuts.append(current.count)
            var merged = FineCounts(binCount: layout.binCount)
            var start = 0
            for end in cuts {
                let part = Self.counts(current[start..<end], layout)
                var w = BinaryWriter()
                part.encode(into: &w)
                var r = BinaryReader(w.bytes)
                let decoded = FineCounts.decode(from: &r)
                out.roundTrips = out.roundTrips && decoded == part && r.isAtEnd
                out.merges = out.merges && merged.merge(decoded ?? part)
                start = end
            }
            out.merged = merged
            out.exact = DriftStatistics.wasserstein(reference, current)
            return out
        }
        #expect(folded.roundTrips && folded.merges)
        let layout = try #require(folded.layout)
        let whole = try #require(folded.whole)
        let merged = try #require(folded.merged)
        #expect(merged.counts == whole.counts && merged.total == whole.total)
        #expect(merged.below == whole.below || abs(merged.below / whole.below - 1) < 1e-9)
        #expect(abs(merged.above / whole.above - 1) < 1e-9)
        let a = try #require(FineBinDrift.compare(layout, whole))
        let b = try #require(FineBinDrift.compare(layout, merged))
        #expect(a.ks == b.ks && a.pValue == b.pValue)
        #expect(abs(a.wasserstein.value / b.wasserstein.value - 1) < 1e-6)
        let exact = try #require(folded.exact)
        #expect(abs(b.wasserstein.value / exact - 1) <= 0.005)
    }

    @Test func layoutIsTheReferencesQuantilesWithExactCountsAndIntegrals() throws {
        var draws = Draws(11)
        let values = (0..<20_000).map { _ in (draws.normal(3, 2) * 10).rounded() / 10 }.sorted()
        let layout = try #require(FineBinLayout(sorted: values))
        #expect(layout.edges.first == values.first && layout.edges.last == values.last)
        #expect(layout.edges.contains(ReferenceBins.quantile(sorted: values, 0.5)!))
        for (e, r) in zip(layout.edges, layout.cumulative) { #expect(r == values.filter { $0 <= e }.count) }
        // ∫ F over [min, max] = max − mean.
        let mean = values.reduce(0, +) / Double(values.count)
        #expect(abs(layout.integrals.reduce(0, +) - (values.last! - mean)) < 1e-9 * values.last!)
        // The decile table gives the same decile counts as binning each value.
        let deciles = try #require(ReferenceBins.decileEdges(values))
        let table = try #require(layout.coarseBins(deciles))
        var direct = try #require(BinnedHistogram(edges: deciles))
        var viaTable = try #require(BinnedHistogram(edges: deciles))
        for x in values + [-100, 100, values[0], values.last!] {
            direct.add(x)
            viaTable.add(bin: table[layout.bin(of: x)])
        }
        #expect(direct.counts == viaTable.counts)
        #expect(FineBinLayout.decode(layout.encoded()) == layout)
        // A decile edge that is not a fine edge has no table.
        #expect(layout.coarseBins([values[0] + 0.05]) == nil || layout.edges.contains(values[0] + 0.05))
    }

    @Test func corruptEncodingsAreRefused() throws {
        let layout = try #require(FineBinLayout(sorted: (0..<5000).map { Double($0) / 7 }))
        let bytes = layout.encoded()
        #expect(FineBinLayout.decode(Array(bytes.dropLast())) == nil)
        #expect(FineBinLayout.decode(bytes + [0]) == nil)
        var descending = bytes
        descending.replaceSubrange(1..<9, with: [0, 0, 0, 0, 0, 0, 0xF0, 0x7F])  // +∞ as the first edge
        #expect(FineBinLayout.decode(descending) == nil)
        var counts = FineCounts(binCount: layout.binCount)
        let added = counts.add(3.3, bin: layout.bin(of: 3.3), layout: layout)
        #expect(added)
        var w = BinaryWriter()
        counts.encode(into: &w)
        var truncated = BinaryReader(Array(w.bytes.dropLast()))
        #expect(FineCounts.decode(from: &truncated) == nil)
        // A position outside [0, 1].
        var bad = w.bytes
        let at = try #require(bad.indices.first { i in i + 4 <= bad.count && Array(bad[i..<i + 4]) == Self.floatBytes(counts.positions[layout.bin(of: 3.3)]) })
        bad.replaceSubrange(at..<at + 4, with: Self.floatBytes(2))
        var r = BinaryReader(bad)
        #expect(FineCounts.decode(from: &r) == nil)
        // Counts over another layout do not compare.
        #expect(FineBinDrift.compare(layout, FineCounts(binCount: 3)) == nil)
    }

    static func floatBytes(_ f: Float) -> [UInt8] {
        var w = BinaryWriter()
        w.write(float: f)
        return w.bytes
    }
}
