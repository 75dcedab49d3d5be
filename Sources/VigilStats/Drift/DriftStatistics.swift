import RealModule

/// χ² test of independence.
public struct ChiSquareResult: Sendable, Equatable {
    public var statistic: Double
    public var pValue: Double
    public var degreesOfFreedom: Int
}

/// Distribution-shift statistics between a reference and a current sample (DESIGN §4).
public enum DriftStatistics {
    /// The proportion Evidently substitutes for an empty bin.
    public static let psiEpsilon = 1e-4

    /// Population Stability Index over matching bins: Σ (a − e)·ln(a / e) with e, a the reference
    /// and current proportions, an empty bin's proportion replaced by 1e-4 (as Evidently's
    /// `psi_stat_test`). `nil` when either side is empty or the bin counts differ.
    public static func psi(reference: [Int], current: [Int]) -> Double? {
        guard let (n, m) = totals(reference, current) else { return nil }
        var sum = 0.0
        for (r, c) in zip(reference, current) {
            let e = r == 0 ? psiEpsilon : Double(r) / n
            let a = c == 0 ? psiEpsilon : Double(c) / m
            sum += (a - e) * Double.log(a / e)
        }
        return sum
    }

    /// Jensen–Shannon distance in base 2 between two count vectors, each normalised to sum 1:
    /// √(½ KL(p‖m) + ½ KL(q‖m)) / √ln 2 with m = (p+q)/2, as
    /// `scipy.spatial.distance.jensenshannon(p, q, base=2)`. In [0, 1]; `nil` for an empty side.
    public static func jensenShannonDistance(reference: [Int], current: [Int]) -> Double? {
        guard let (n, m) = totals(reference, current) else { return nil }
        var divergence = 0.0
        for (r, c) in zip(reference, current) {
            let p = Double(r) / n
            let q = Double(c) / m
            let mid = (p + q) / 2
            if p > 0 { divergence += p * Double.log(p / mid) }
            if q > 0 { divergence += q * Double.log(q / mid) }
        }
        return Swift.max(0, divergence / 2 / Double.log(2.0)).squareRoot()
    }

    /// Both count vectors' totals, when they match in length and neither is empty.
    private static func totals(_ reference: [Int], _ current: [Int]) -> (Double, Double)? {
        guard reference.count == current.count, !reference.isEmpty else { return nil }
        let n = Double(reference.reduce(0, +))
        let m = Double(current.reduce(0, +))
        return n > 0 && m > 0 ? (n, m) : nil
    }

    /// χ² test of independence on a contingency table (rows: samples, columns: categories), as
    /// `scipy.stats.chi2_contingency(table)` with its defaults: Yates' continuity correction when
    /// there is exactly one degree of freedom (each |O − E| shrunk by min(½, |O − E|)), p from the
    /// χ² survival function. Columns that are zero in every row are dropped first (scipy would
    /// refuse a zero expected frequency). `nil` when fewer than two rows or columns remain with data.
    public static func chiSquareContingency(_ table: [[Int]]) -> ChiSquareResult? {
        guard let width = table.first?.count, table.allSatisfy({ $0.count == width }) else { return nil }
        let columns = (0..<width).filter { c in table.contains { $0[c] != 0 } }
        let rows = table.filter { row in columns.contains { row[$0] != 0 } }
        guard rows.count >= 2, columns.count >= 2 else { return nil }
        let rowTotals = rows.map { row in Double(columns.reduce(0) { $0 + row[$1] }) }
        let columnTotals = columns.map { c in Double(rows.reduce(0) { $0 + $1[c] }) }
        let total = rowTotals.reduce(0, +)
        let dof = (rows.count - 1) * (columns.count - 1)
        var statistic = 0.0
        for (i, row) in rows.enumerated() {
            for (j, c) in columns.enumerated() {
                let expected = rowTotals[i] * columnTotals[j] / total
                var observed = Double(row[c])
                if dof == 1 {
                    let diff = expected - observed
                    observed += Swift.min(0.5, abs(diff)) * (diff > 0 ? 1 : diff < 0 ? -1 : 0)
                }
                statistic += (observed - expected) * (observed - expected) / expected
            }
        }
        guard let p = SpecialFunctions.chiSquareSurvival(statistic, degreesOfFreedom: Double(dof)) else { return nil }
        return ChiSquareResult(statistic: statistic, pValue: p, degreesOfFreedom: dof)
    }

    /// First Wasserstein distance between two samples: ∫ |U(x) − V(x)| dx over their empirical
    /// CDFs, as `scipy.stats.wasserstein_distance(u, v)`. `nil` when either sample is empty.
    public static func wasserstein(_ u: [Double], _ v: [Double]) -> Double? {
        guard !u.isEmpty, !v.isEmpty else { return nil }
        let a = u.sorted()
        let b = v.sorted()
        var i = 0
        var j = 0
        var distance = 0.0
        var previous = Swift.min(a[0], b[0])
        // Walk the merged sorted values; between consecutive ones both CDFs are constant.
        while i < a.count || j < b.count {
            let next: Double
            if j >= b.count || (i < a.count && a[i] <= b[j]) { next = a[i] } else { next = b[j] }
            distance += abs(Double(i) / Double(a.count) - Double(j) / Double(b.count)) * (next - previous)
            while i < a.count && a[i] == next { i += 1 }
            while j < b.count && b[j] == next { j += 1 }
            previous = next
        }
        return distance
    }

    /// Two-sample Kolmogorov–Smirnov statistic D = sup |F₁(x) − F₂(x)| over the empirical CDFs,
    /// as `scipy.stats.ks_2samp(a, b).statistic`. `nil` when either sample is empty.
    public static func ksStatistic(_ a: [Double], _ b: [Double]) -> Double? {
        KolmogorovSmirnov.latticeDistance(a, b)?.statistic
    }
}
