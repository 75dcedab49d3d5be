import RealModule

/// A two-sample Kolmogorov–Smirnov test result.
public struct KSResult: Sendable, Equatable {
    public enum Method: String, Sendable {
        /// The exact null distribution, as `scipy.stats.ks_2samp(method="exact")`.
        case exact
        /// The one-sample distribution of Dₙ with n = round(n₁n₂/(n₁+n₂)), as
        /// `ks_2samp(method="asymp")` (`scipy.stats.kstwo`).
        case asymptotic
    }

    public var statistic: Double
    public var pValue: Double
    public var method: Method
}

/// The two-sided two-sample Kolmogorov–Smirnov test.
public enum KolmogorovSmirnov {
    /// Samples up to this size per side get the exact p-value (scipy's `method="auto"` cut-off).
    public static let maxExactSize = 10_000

    /// Tests whether two samples come from the same continuous distribution. D is scipy's
    /// statistic; the p-value is exact (as `ks_2samp` with `method="auto"`) while both samples
    /// have at most 10,000 values. `nil` when either sample is empty.
    public static func test(_ a: [Double], _ b: [Double]) -> KSResult? {
        guard let distance = latticeDistance(a, b) else { return nil }
        let (n1, n2, g, h, d) = (distance.n1, distance.n2, distance.g, distance.h, distance.statistic)
        if h == 0 { return KSResult(statistic: 0, pValue: 1, method: .exact) }
        if Swift.max(n1, n2) <= maxExactSize {
            let p = n1 == n2 ? probabilityOutsideSquare(n: n1, h: h) : probabilityOutsideBand(n1, n2, g: g, h: h)
            return KSResult(statistic: d, pValue: Swift.min(1, Swift.max(0, p)), method: .exact)
        }
        // scipy: kstwo.sf(d, round(en)), numpy's round being half-to-even.
        let en = (Double(n1) * Double(n2) / Double(n1 + n2)).rounded(.toNearestOrEven)
        return KSResult(statistic: d, pValue: KolmogorovDistribution.survival(d, n: Int(en)), method: .asymptotic)
    }

    /// D as an exact lattice distance: h = max over distinct values of |i·n₂/g − j·n₁/g|, so
    /// D = h / lcm(n₁, n₂). NaNs are dropped (scipy's default policy would return NaN instead;
    /// Vigil never stores non-finite values). `nil` when either sample is empty.
    static func latticeDistance(_ a: [Double], _ b: [Double]) -> (n1: Int, n2: Int, g: Int, h: Int, statistic: Double)?
    {
        let x = a.filter { !$0.isNaN }.sorted()
        let y = b.filter { !$0.isNaN }.sorted()
        guard !x.isEmpty, !y.isEmpty else { return nil }
        let n1 = x.count
        let n2 = y.count
        let g = gcd(n1, n2)
        let (n1g, n2g) = (n1 / g, n2 / g)
        var h = 0
        var i = 0
        var j = 0
        while i < n1 && j < n2 {
            let value = Swift.min(x[i], y[j])
            while i < n1 && x[i] == value { i += 1 }
            while j < n2 && y[j] == value { j += 1 }
            h = Swift.max(h, abs(i * n2g - j * n1g))
        }
        return (n1, n2, g, h, Double(h) / (Double(n1g) * Double(n2)))
    }

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    /// P(D ≥ h/n) for two samples of size n: the reflection-principle sum
    /// 2 Σ_{k≥1} (−1)^{k−1} C(2n, n−kh)/C(2n, n), evaluated from the largest k down as a nested
    /// product so no binomial overflows (Hodges 1957; the same evaluation order as scipy).
    static func probabilityOutsideSquare(n: Int, h: Int) -> Double {
        var total = 0.0
        var k = n / h
        while k >= 0 {
            // C(2n, n−kh)/C(2n, n) = Π_{j<h'} (n − kh − j)/(n + kh + j + 1) for the k-th term.
            var term = 1.0
            for j in 0..<h {
                term = Double(n - k * h - j) * term / Double(n + k * h + j + 1)
            }
            total = term * (1 - total)
            k -= 1
        }
        return 2 * total
    }

    /// P(D ≥ d) for unequal sizes: the share of monotone lattice paths from (0, 0) to (n1, n2)
    /// that touch or cross |i·n2/g − j·n1/g| ≥ h. Q(i, j), the probability of having left the
    /// band by (i, j), follows Q = (i·Q(i−1, j) + j·Q(i, j−1))/(i + j) (path counts normalised by
    /// C(i+j, i)), with Q = 1 outside the band. Computing the outside mass directly keeps small
    /// p-values accurate. O(n1·n2) time, O(n2) memory.
    static func probabilityOutsideBand(_ n1: Int, _ n2: Int, g: Int, h: Int) -> Double {
        let (n1g, n2g) = (n1 / g, n2 / g)
        var previous = [Double](repeating: 0, count: n2 + 1)
        var current = [Double](repeating: 0, count: n2 + 1)
        for i in 0...n1 {
            for j in 0...n2 {
                if abs(i * n2g - j * n1g) >= h {
                    current[j] = 1
                } else if i == 0 && j == 0 {
                    current[j] = 0
                } else {
                    let up = i > 0 ? Double(i) * previous[j] : 0
                    let left = j > 0 ? Double(j) * current[j - 1] : 0
                    current[j] = (up + left) / Double(i + j)
                }
            }
            swap(&previous, &current)
        }
        return previous[n2]
    }
}
