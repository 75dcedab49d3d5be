import Testing

@testable import VigilStats

/// Mergeability: merge(a, b) == merge(b, a); shards merged equal the whole stream; encode → decode
/// round-trips. Exact for counts; moments to floating-point rounding (Chan's formula reorders sums).
@Suite struct AggregatePropertyTests {
    typealias Seeded = SplitMix64

    static let seeds: [UInt64] = Array(1...25)

    /// A stream split into 1–5 shards at random points.
    static func shards<T>(_ values: [T], _ rng: inout Seeded) -> [[T]] {
        var cuts = (0..<Int.random(in: 0...4, using: &rng)).map { _ in Int.random(in: 0...values.count, using: &rng) }
            .sorted()
        cuts.append(values.count)
        var start = 0
        return cuts.map { end in
            defer { start = end }
            return Array(values[start..<end])
        }
    }

    @Test(arguments: seeds) func moments(_ seed: UInt64) throws {
        var rng = Seeded(state: seed)
        let values = (0..<Int.random(in: 0...500, using: &rng)).map { _ in Double.random(in: -1e6...1e6, using: &rng) }
        var whole = Moments()
        values.forEach { whole.add($0) }
        var merged = Moments()
        for shard in Self.shards(values, &rng) {
            var part = Moments()
            shard.forEach { part.add($0) }
            merged.merge(part)
        }
        #expect(merged.count == whole.count && merged.min == whole.min && merged.max == whole.max)
        #expect(agrees(merged.mean, whole.mean, relative: 1e-9, absolute: 1e-6))
        #expect(agrees(merged.m2, whole.m2, relative: 1e-9, absolute: 1e-6))
        var a = Moments()
        var b = Moments()
        values.prefix(values.count / 2).forEach { a.add($0) }
        values.dropFirst(values.count / 2).forEach { b.add($0) }
        var ab = a
        var ba = b
        ab.merge(b)
        ba.merge(a)
        #expect(ab.count == ba.count && agrees(ab.mean, ba.mean, relative: 1e-12, absolute: 1e-9))
        #expect(Moments.decode(whole.encoded()) == whole)
    }

    @Test(arguments: seeds) func histogramsMergeExactly(_ seed: UInt64) throws {
        var rng = Seeded(state: seed)
        let reference = (0..<200).map { _ in Double.random(in: -5...5, using: &rng) }
        let edges = try #require(ReferenceBins.decileEdges(reference))
        let values = (0..<Int.random(in: 0...800, using: &rng)).map { _ in Double.random(in: -10...10, using: &rng) }
        var whole = try #require(BinnedHistogram(edges: edges))
        values.forEach { whole.add($0) }
        var merged = try #require(BinnedHistogram(edges: edges))
        for shard in Self.shards(values, &rng) {
            var part = try #require(BinnedHistogram(edges: edges))
            shard.forEach { part.add($0) }
            let compatible = merged.merge(part)
            #expect(compatible)
        }
        #expect(merged == whole)
        #expect(whole.total == values.count)
        #expect(BinnedHistogram.decode(whole.encoded()) == whole)
        var other = try #require(BinnedHistogram(edges: [0]))
        let mismatched = other.merge(whole)
        #expect(!mismatched)
    }

    @Test(arguments: seeds) func categoryCountsAreExactWithinCapacity(_ seed: UInt64) {
        var rng = Seeded(state: seed)
        let categories = (0..<40).map { "c\($0) é" }
        let values = (0..<Int.random(in: 0...600, using: &rng)).map { _ in categories.randomElement(using: &rng)! }
        var whole = CategoryCounts(capacity: 64)
        values.forEach { whole.add($0) }
        var forward = CategoryCounts(capacity: 64)
        var backward = CategoryCounts(capacity: 64)
        let parts = Self.shards(values, &rng).map { shard -> CategoryCounts in
            var c = CategoryCounts(capacity: 64)
            shard.forEach { c.add($0) }
            return c
        }
        parts.forEach { forward.merge($0) }
        parts.reversed().forEach { backward.merge($0) }
        #expect(forward == whole && backward == whole && whole.isExact)
        #expect(CategoryCounts.decode(whole.encoded()) == whole)
    }

    @Test func categoryCountsPastCapacityKeepTheHeavyHitters() {
        var c = CategoryCounts(capacity: 10)
        var truth: [String: Int] = [:]
        var rng = Seeded(state: 99)
        for i in 0..<20_000 {
            // Two heavy categories and a long tail of 5,000 rare ones.
            let name = i % 4 == 0 ? "heavy-a" : i % 4 == 1 ? "heavy-b" : "rare-\(Int.random(in: 0..<5000, using: &rng))"
            c.add(name)
            truth[name, default: 0] += 1
        }
        #expect(c.counts.count <= 10 && !c.isExact)
        #expect(c.total == 20_000)
        let bound = c.other / 11
        for (name, kept) in c.counts {
            #expect(kept <= truth[name]! && truth[name]! - kept <= bound, "\(name)")
        }
        #expect(c.counts["heavy-a"] != nil && c.counts["heavy-b"] != nil)
    }

    @Test(arguments: seeds) func countersMergeExactly(_ seed: UInt64) {
        var rng = Seeded(state: seed)
        let rows = (0..<Int.random(in: 0...400, using: &rng)).map { _ in
            (
                Bool.random(using: &rng), Bool.random(using: &rng), Double.random(in: 0...1, using: &rng),
                ["a", "b c", "ü"].randomElement(using: &rng)!
            )
        }
        func fold(_ rows: [(Bool, Bool, Double, String)]) -> (
            ConfusionMatrix, GroupCounters, ExpectedConfusion, CalibrationBins
        ) {
            var m = ConfusionMatrix()
            var g = GroupCounters()
            var e = ExpectedConfusion()
            var cal = CalibrationBins()
            for (pred, actual, p, cls) in rows {
                m.add(truth: actual ? cls : "x", predicted: pred ? cls : "x")
                g.addPrediction(positive: pred)
                g.addOutcome(predictedPositive: pred, actualPositive: actual)
                e.add(predictedPositive: pred, probability: p)
                cal.add(probability: p, positive: actual)
            }
            return (m, g, e, cal)
        }
        let whole = fold(rows)
        var merged = fold([])
        for shard in Self.shards(rows, &rng) {
            let part = fold(shard)
            merged.0.merge(part.0)
            merged.1.merge(part.1)
            merged.2.merge(part.2)
            merged.3.merge(part.3)
        }
        #expect(merged.0 == whole.0 && merged.1 == whole.1)
        #expect(
            merged.2.count == whole.2.count
                && agrees(merged.2.truePositives, whole.2.truePositives, relative: 1e-12, absolute: 1e-9))
        #expect(merged.3.counts == whole.3.counts && merged.3.outcomeSums == whole.3.outcomeSums)
        #expect(agrees(merged.3.brierScore, whole.3.brierScore, relative: 1e-12, absolute: 1e-12))
        #expect(ConfusionMatrix.decode(whole.0.encoded()) == whole.0)
        #expect(GroupCounters.decode(whole.1.encoded()) == whole.1)
        #expect(ExpectedConfusion.decode(whole.2.encoded()) == whole.2)
        #expect(CalibrationBins.decode(whole.3.encoded()) == whole.3)
    }

    @Test func corruptEncodingsDecodeToNil() {
        var m = Moments()
        m.add(1)
        #expect(Moments.decode(Array(m.encoded().dropLast())) == nil)
        #expect(BinnedHistogram.decode([5]) == nil)
        #expect(CategoryCounts.decode([0]) == nil)
        #expect(ConfusionMatrix.decode([1, 3]) == nil)
        #expect(GroupCounters.decode([1, 2, 3]) == nil)
        #expect(ExpectedConfusion.decode([0]) == nil)
        #expect(CalibrationBins.decode([]) == nil)
    }
}
