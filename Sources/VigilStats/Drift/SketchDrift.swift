/// An estimate with a bound on its distance from the exact value.
public struct BoundedEstimate: Sendable, Equatable {
    public var value: Double
    /// |value − exact| ≤ bound (with the sketches' confidence).
    public var bound: Double
}

/// KS and Wasserstein distances from two quantile sketches, for windows too large to keep
/// samples. Each sketch's CDF is within its `rankErrorBound` ε of the exact empirical CDF, which
/// bounds the statistics.
public enum SketchDrift {
    /// D̂ = sup |F̂ₐ − F̂_b|, taken at the retained values (the only places either step function
    /// jumps). |D̂ − D| ≤ εₐ + ε_b. `nil` when either sketch is empty.
    public static func ksStatistic(_ a: QuantileSketch, _ b: QuantileSketch) -> BoundedEstimate? {
        guard a.count > 0, b.count > 0 else { return nil }
        return BoundedEstimate(
            value: distance(a.weightedItems(), a.count, b.weightedItems(), b.count),
            bound: a.rankErrorBound + b.rankErrorBound)
    }

    /// KS test from sketches: D̂ with its bound, and the range the p-value of the exact D lies in
    /// under the finite-n Kolmogorov distribution with n = round(nₐn_b/(nₐ+n_b)) (as
    /// `ks_2samp(method="asymp")`): P(Dₙ ≥ ·) is decreasing, so D ∈ [D̂ − β, D̂ + β] gives
    /// p ∈ [sf(D̂ + β), sf(D̂ − β)]. `pValue` is the upper, conservative end: a sketch never
    /// claims more significance than the exact test could. `nil` when either sketch is empty.
    public static func ksTest(_ a: QuantileSketch, _ b: QuantileSketch) -> (
        statistic: BoundedEstimate, pValue: Double, pValueRange: ClosedRange<Double>
    )? {
        guard let d = ksStatistic(a, b) else { return nil }
        return test(d, a.count, b.count)
    }

    /// KS test of an exact sample (`sorted` ascending, finite) against a sketch: as
    /// `ksTest(_:_:)`, with the bound of the sketch alone (ε_b), since one CDF is exact.
    public static func ksTest(sorted a: [Double], _ b: QuantileSketch) -> (
        statistic: BoundedEstimate, pValue: Double, pValueRange: ClosedRange<Double>
    )? {
        guard !a.isEmpty, b.count > 0 else { return nil }
        var value = 0.0
        walk(sorted: a, b.weightedItems(), b.count) { fa, fb, _ in value = Swift.max(value, abs(fa - fb)) }
        return test(BoundedEstimate(value: value, bound: b.rankErrorBound), a.count, b.count)
    }

    private static func test(_ d: BoundedEstimate, _ na: Int, _ nb: Int) -> (
        statistic: BoundedEstimate, pValue: Double, pValueRange: ClosedRange<Double>
    ) {
        let n = Swift.max(1, Int((Double(na) * Double(nb) / Double(na + nb)).rounded(.toNearestOrEven)))
        let low = KolmogorovDistribution.survival(Swift.min(1, d.value + d.bound), n: n)
        let high = KolmogorovDistribution.survival(Swift.max(0, d.value - d.bound), n: n)
        return (d, high, low...high)
    }

    /// Ŵ = ∫ |F̂ₐ − F̂_b| dx. Since both CDFs are within ε of the exact ones everywhere on
    /// [min, max], |Ŵ − W| ≤ (εₐ + ε_b)·(max − min) over both samples. `nil` when either is empty.
    public static func wasserstein(_ a: QuantileSketch, _ b: QuantileSketch) -> BoundedEstimate? {
        guard a.count > 0, b.count > 0 else { return nil }
        let range = Swift.max(a.max, b.max) - Swift.min(a.min, b.min)
        return BoundedEstimate(
            value: area(a.weightedItems(), a.count, b.weightedItems(), b.count),
            bound: (a.rankErrorBound + b.rankErrorBound) * range)
    }

    /// Ŵ of an exact sample (`sorted` ascending, finite) against a sketch, within ε_b·range.
    public static func wasserstein(sorted a: [Double], _ b: QuantileSketch) -> BoundedEstimate? {
        guard let first = a.first, let last = a.last, b.count > 0 else { return nil }
        let range = Swift.max(last, b.max) - Swift.min(first, b.min)
        var w = 0.0
        walk(sorted: a, b.weightedItems(), b.count) { fa, fb, width in w += abs(fa - fb) * width }
        return BoundedEstimate(value: w, bound: b.rankErrorBound * range)
    }

    private static func distance(
        _ x: [(value: Double, weight: Int)], _ na: Int, _ y: [(value: Double, weight: Int)], _ nb: Int
    ) -> Double {
        var d = 0.0
        walk(x, na, y, nb) { _, fa, fb, _ in d = Swift.max(d, abs(fa - fb)) }
        return d
    }

    private static func area(
        _ x: [(value: Double, weight: Int)], _ na: Int, _ y: [(value: Double, weight: Int)], _ nb: Int
    ) -> Double {
        var w = 0.0
        walk(x, na, y, nb) { _, fa, fb, width in w += abs(fa - fb) * width }
        return w
    }

    /// Visits each distinct value v of either weighted, sorted list in order with F̂ₐ(v), F̂_b(v)
    /// and the width to the next value (0 for the last).
    private static func walk(
        _ x: [(value: Double, weight: Int)], _ na: Int, _ y: [(value: Double, weight: Int)], _ nb: Int,
        _ visit: (Double, Double, Double, Double) -> Void
    ) {
        var i = 0
        var j = 0
        var wa = 0
        var wb = 0
        while i < x.count || j < y.count {
            let v: Double
            if j >= y.count || (i < x.count && x[i].value <= y[j].value) { v = x[i].value } else { v = y[j].value }
            while i < x.count && x[i].value == v {
                wa += x[i].weight
                i += 1
            }
            while j < y.count && y[j].value == v {
                wb += y[j].weight
                j += 1
            }
            let next: Double
            switch (i < x.count, j < y.count) {
            case (true, true): next = Swift.min(x[i].value, y[j].value)
            case (true, false): next = x[i].value
            case (false, true): next = y[j].value
            case (false, false): next = v
            }
            visit(v, Double(wa) / Double(na), Double(wb) / Double(nb), next - v)
        }
    }

    /// `walk` with an exact sorted sample on one side, without building weighted items for it.
    private static func walk(
        sorted x: [Double], _ y: [(value: Double, weight: Int)], _ nb: Int, _ visit: (Double, Double, Double) -> Void
    ) {
        let na = Double(x.count)
        let nbd = Double(nb)
        var i = 0
        var j = 0
        var wb = 0
        while i < x.count || j < y.count {
            let v: Double
            if j >= y.count || (i < x.count && x[i] <= y[j].value) { v = x[i] } else { v = y[j].value }
            while i < x.count && x[i] == v { i += 1 }
            while j < y.count && y[j].value == v {
                wb += y[j].weight
                j += 1
            }
            let next: Double
            switch (i < x.count, j < y.count) {
            case (true, true): next = Swift.min(x[i], y[j].value)
            case (true, false): next = x[i]
            case (false, true): next = y[j].value
            case (false, false): next = v
            }
            visit(Double(i) / na, Double(wb) / nbd, next - v)
        }
    }
}
