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
        var d = 0.0
        walk(a, b) { _, fa, fb, _ in d = Swift.max(d, abs(fa - fb)) }
        return BoundedEstimate(value: d, bound: a.rankErrorBound + b.rankErrorBound)
    }

    /// KS test from sketches: D̂ with its bound, the p-value at D̂ from the finite-n Kolmogorov
    /// distribution with n = round(nₐn_b/(nₐ+n_b)) (as `ks_2samp(method="asymp")`), and the range
    /// the p-value of the exact D lies in: P(Dₙ ≥ ·) is decreasing, so D ∈ [D̂ − β, D̂ + β] gives
    /// p ∈ [sf(D̂ + β), sf(D̂ − β)]. `nil` when either sketch is empty.
    public static func ksTest(_ a: QuantileSketch, _ b: QuantileSketch) -> (
        statistic: BoundedEstimate, pValue: Double, pValueRange: ClosedRange<Double>
    )? {
        guard let d = ksStatistic(a, b) else { return nil }
        let n = Int((Double(a.count) * Double(b.count) / Double(a.count + b.count)).rounded(.toNearestOrEven))
        let p = KolmogorovDistribution.survival(d.value, n: Swift.max(1, n))
        let low = KolmogorovDistribution.survival(Swift.min(1, d.value + d.bound), n: Swift.max(1, n))
        let high = KolmogorovDistribution.survival(Swift.max(0, d.value - d.bound), n: Swift.max(1, n))
        return (d, p, low...high)
    }

    /// Ŵ = ∫ |F̂ₐ − F̂_b| dx. Since both CDFs are within ε of the exact ones everywhere on
    /// [min, max], |Ŵ − W| ≤ (εₐ + ε_b)·(max − min) over both samples. `nil` when either is empty.
    public static func wasserstein(_ a: QuantileSketch, _ b: QuantileSketch) -> BoundedEstimate? {
        guard a.count > 0, b.count > 0 else { return nil }
        var w = 0.0
        walk(a, b) { _, fa, fb, width in w += abs(fa - fb) * width }
        let range = Swift.max(a.max, b.max) - Swift.min(a.min, b.min)
        return BoundedEstimate(value: w, bound: (a.rankErrorBound + b.rankErrorBound) * range)
    }

    /// Visits each distinct retained value v in order with F̂ₐ(v), F̂_b(v) and the width to the
    /// next value (0 for the last).
    private static func walk(
        _ a: QuantileSketch, _ b: QuantileSketch, _ visit: (Double, Double, Double, Double) -> Void
    ) {
        let x = a.weightedItems()
        let y = b.weightedItems()
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
            visit(v, Double(wa) / Double(a.count), Double(wb) / Double(b.count), next - v)
        }
    }
}
