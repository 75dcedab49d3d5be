import Foundation
import Testing

@testable import VigilStats

@Suite struct QuantileSketchTests {
    typealias Rng = AggregatePropertyTests.Seeded

    static func normal(_ rng: inout Rng) -> Double {
        // Box–Muller; enough for test data.
        let u = Double.random(in: Double.leastNonzeroMagnitude..<1, using: &rng)
        let v = Double.random(in: 0..<1, using: &rng)
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }

    /// Largest |F̂(x) − F(x)| over every distinct value of the sorted exact sample.
    static func maxRankError(_ sketch: QuantileSketch, exact sorted: [Double]) -> Double {
        var worst = 0.0
        var i = 0
        let step = Swift.max(1, sorted.count / 2000)
        while i < sorted.count {
            var j = i
            while j < sorted.count && sorted[j] == sorted[i] { j += 1 }
            let exact = Double(j) / Double(sorted.count)
            worst = Swift.max(worst, abs(sketch.cdf(sorted[i])! - exact))
            i = Swift.max(j, i + step)
        }
        return worst
    }

    @Test(arguments: ["uniform", "normal", "ties", "sorted"])
    func rankErrorStaysWithinTheBound(_ shape: String) {
        var rng = Rng(state: 42)
        let values: [Double] = (0..<200_000).map { i in
            switch shape {
            case "uniform": Double.random(in: -1e9...1e9, using: &rng)
            case "normal": Self.normal(&rng)
            case "ties": Double(Int.random(in: 0..<50, using: &rng))
            default: Double(i)
            }
        }
        var sketch = QuantileSketch()
        values.forEach { sketch.add($0) }
        #expect(sketch.count == values.count)
        #expect(sketch.min == values.min() && sketch.max == values.max())
        let error = Self.maxRankError(sketch, exact: values.sorted())
        #expect(error <= sketch.rankErrorBound, "max rank error \(error) > \(sketch.rankErrorBound)")
    }

    @Test func mergedShardsStayWithinTheBoundInEitherOrder() {
        var rng = Rng(state: 7)
        let values = (0..<200_000).map { _ in Self.normal(&rng) * 10 + 3 }
        let shards = stride(from: 0, to: values.count, by: 10_000).map { start -> QuantileSketch in
            var s = QuantileSketch()
            values[start..<(start + 10_000)].forEach { s.add($0) }
            return s
        }
        var forward = QuantileSketch()
        var backward = QuantileSketch()
        shards.forEach { forward.merge($0) }
        shards.reversed().forEach { backward.merge($0) }
        let sorted = values.sorted()
        for merged in [forward, backward] {
            #expect(merged.count == values.count)
            let error = Self.maxRankError(merged, exact: sorted)
            #expect(error <= merged.rankErrorBound, "merged rank error \(error)")
        }
        let median = sorted[sorted.count / 2]
        #expect(abs(forward.quantile(0.5)! - median) < 0.5)
    }

    @Test func memoryStaysBoundedOverTenMillionValues() {
        var sketch = QuantileSketch()
        var x: UInt64 = 1
        for _ in 0..<10_000_000 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            sketch.add(Double(x >> 11))
        }
        let levels = sketch.levels.count
        #expect(sketch.retained <= 3 * sketch.k + QuantileSketch.minimumCapacity * levels)
        #expect(sketch.retained * 8 < 5_900, "retained \(sketch.retained) values in \(levels) levels")
        #expect(sketch.encoded().count < 6_000)
    }

    @Test func encodingRoundTripsAndRejectsCorruption() {
        var sketch = QuantileSketch(k: 64)
        for i in 0..<5000 { sketch.add(Double(i % 777) * 1.5) }
        let bytes = sketch.encoded()
        #expect(QuantileSketch.decode(bytes) == sketch)
        #expect(QuantileSketch.decode(Array(bytes.dropLast())) == nil)
        var tampered = bytes
        tampered[1] ^= 0x01  // count no longer matches the weights
        #expect(QuantileSketch.decode(tampered) == nil)
        #expect(QuantileSketch().quantile(0.5) == nil && QuantileSketch().cdf(0) == nil)
    }

    @Test func ksAndWassersteinFromSketchesStayWithinTheirBounds() throws {
        var rng = Rng(state: 11)
        for shift in [0.0, 0.1, 0.5, 2.0] {
            let a = (0..<50_000).map { _ in Self.normal(&rng) }
            let b = (0..<40_000).map { _ in Self.normal(&rng) * 1.2 + shift }
            var sa = QuantileSketch()
            var sb = QuantileSketch()
            a.forEach { sa.add($0) }
            b.forEach { sb.add($0) }
            let ks = try #require(SketchDrift.ksStatistic(sa, sb))
            let exactKS = try #require(DriftStatistics.ksStatistic(a, b))
            #expect(abs(ks.value - exactKS) <= ks.bound, "KS \(ks.value) vs \(exactKS) ± \(ks.bound)")
            let test = try #require(SketchDrift.ksTest(sa, sb))
            let exactTest = try #require(KolmogorovSmirnov.test(a, b))
            #expect(exactTest.method == .asymptotic)
            #expect(test.pValueRange.contains(exactTest.pValue), "p \(exactTest.pValue) outside \(test.pValueRange)")
            #expect(test.pValueRange.contains(test.pValue))
            let w = try #require(SketchDrift.wasserstein(sa, sb))
            let exactW = try #require(DriftStatistics.wasserstein(a, b))
            #expect(abs(w.value - exactW) <= w.bound, "W \(w.value) vs \(exactW) ± \(w.bound)")
            // An exact reference against a sketch: only the sketch's error counts.
            let sorted = a.sorted()
            let half = try #require(SketchDrift.ksTest(sorted: sorted, sb))
            #expect(half.statistic.bound == sb.rankErrorBound)
            #expect(
                abs(half.statistic.value - exactKS) <= half.statistic.bound, "KS \(half.statistic.value) vs \(exactKS)")
            #expect(half.pValueRange.contains(exactTest.pValue))
            let halfW = try #require(SketchDrift.wasserstein(sorted: sorted, sb))
            #expect(abs(halfW.value - exactW) <= halfW.bound, "W \(halfW.value) vs \(exactW) ± \(halfW.bound)")
            #expect(halfW.bound < w.bound)
        }
    }
}
