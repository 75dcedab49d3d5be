import RealModule

/// The special functions the tests rest on. Each is evaluated on the side where its series or
/// continued fraction converges and keeps relative accuracy, so tail probabilities stay accurate
/// down to ~1e-300 (a p-value is a tail probability: computing it as `1 - cdf` would round tiny
/// ones to 0).
public enum SpecialFunctions {
    static let epsilon = 1e-16
    static let tiny = 1e-300
    static let maxIterations = 10_000

    /// Standard normal CDF Φ(x) = erfc(−x/√2)/2.
    public static func normalCDF(_ x: Double) -> Double { 0.5 * Double.erfc(-x / 2.0.squareRoot()) }

    /// Standard normal survival 1 − Φ(x) = erfc(x/√2)/2, accurate far into the upper tail.
    public static func normalSurvival(_ x: Double) -> Double { 0.5 * Double.erfc(x / 2.0.squareRoot()) }

    /// Regularized lower incomplete gamma P(a, x) = γ(a, x)/Γ(a), for a > 0, x ≥ 0.
    ///
    /// Series for x < a + 1, else 1 − Q by continued fraction (Numerical Recipes §6.2; the same
    /// split as Cephes `igam`, which `scipy.special.gammainc` uses). `nil` outside the domain.
    public static func regularizedGammaP(_ a: Double, _ x: Double) -> Double? {
        guard a > 0, x >= 0, a.isFinite, !x.isNaN else { return nil }
        if x == 0 { return 0 }
        if x.isInfinite { return 1 }
        return x < a + 1 ? gammaSeries(a, x) : 1 - gammaContinuedFraction(a, x)
    }

    /// Regularized upper incomplete gamma Q(a, x) = 1 − P(a, x) (`scipy.special.gammaincc`).
    public static func regularizedGammaQ(_ a: Double, _ x: Double) -> Double? {
        guard a > 0, x >= 0, a.isFinite, !x.isNaN else { return nil }
        if x == 0 { return 1 }
        if x.isInfinite { return 0 }
        return x < a + 1 ? 1 - gammaSeries(a, x) : gammaContinuedFraction(a, x)
    }

    /// e^{−x} x^a / Γ(a), the common prefactor, computed in logs.
    private static func gammaPrefactor(_ a: Double, _ x: Double) -> Double {
        Double.exp(a * Double.log(x) - x - Double.logGamma(a))
    }

    /// P(a, x) = prefactor · Σ xⁿ / (a (a+1) … (a+n)).
    private static func gammaSeries(_ a: Double, _ x: Double) -> Double {
        var term = 1 / a
        var sum = term
        var ap = a
        for _ in 0..<maxIterations {
            ap += 1
            term *= x / ap
            sum += term
            if abs(term) < abs(sum) * epsilon { break }
        }
        return min(1, sum * gammaPrefactor(a, x))
    }

    /// Q(a, x) by Legendre's continued fraction, evaluated with modified Lentz.
    private static func gammaContinuedFraction(_ a: Double, _ x: Double) -> Double {
        var b = x + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var h = d
        for i in 1...maxIterations {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < epsilon { break }
        }
        return min(1, gammaPrefactor(a, x) * h)
    }

    /// Regularized incomplete beta I_x(a, b) for a, b > 0, 0 ≤ x ≤ 1 (`scipy.special.betainc`).
    ///
    /// Continued fraction (Numerical Recipes §6.4, Lentz), on the side x < (a+1)/(a+b+2) where it
    /// converges fast, using I_x(a, b) = 1 − I_{1−x}(b, a) otherwise. `nil` outside the domain.
    public static func regularizedBeta(_ x: Double, _ a: Double, _ b: Double) -> Double? {
        guard a > 0, b > 0, x >= 0, x <= 1, a.isFinite, b.isFinite else { return nil }
        if x == 0 { return 0 }
        if x == 1 { return 1 }
        if x < (a + 1) / (a + b + 2) {
            return betaPrefactor(x, a, b) * betaContinuedFraction(x, a, b) / a
        }
        return 1 - betaPrefactor(1 - x, b, a) * betaContinuedFraction(1 - x, b, a) / b
    }

    /// The complement 1 − I_x(a, b) = I_{1−x}(b, a), computed directly so small values keep their digits.
    public static func regularizedBetaComplement(_ x: Double, _ a: Double, _ b: Double) -> Double? {
        regularizedBeta(1 - x, b, a)
    }

    /// xᵃ (1−x)ᵇ / B(a, b), in logs.
    private static func betaPrefactor(_ x: Double, _ a: Double, _ b: Double) -> Double {
        let logBeta = Double.logGamma(a) + Double.logGamma(b) - Double.logGamma(a + b)
        return Double.exp(a * Double.log(x) + b * Double.log(onePlus: -x) - logBeta)
    }

    private static func betaContinuedFraction(_ x: Double, _ a: Double, _ b: Double) -> Double {
        let qab = a + b
        let qap = a + 1
        let qam = a - 1
        var c = 1.0
        var d = 1 - qab * x / qap
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...maxIterations {
            let m = Double(m)
            let m2 = 2 * m
            var aa = m * (b - m) * x / ((qam + m2) * (a + m2))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < epsilon { break }
        }
        return h
    }

    /// Survival function of the χ² distribution with `df` degrees of freedom: Q(df/2, x/2)
    /// (`scipy.stats.chi2.sf`).
    public static func chiSquareSurvival(_ x: Double, degreesOfFreedom df: Double) -> Double? {
        guard df > 0 else { return nil }
        if x <= 0 { return 1 }
        return regularizedGammaQ(df / 2, x / 2)
    }

    /// Two-sided p-value of Student's t: P(|T| ≥ |t|) = I_{df/(df+t²)}(df/2, 1/2)
    /// (`2 * scipy.stats.t.sf(abs(t), df)`).
    public static func studentTTwoSided(_ t: Double, degreesOfFreedom df: Double) -> Double? {
        guard df > 0, !t.isNaN else { return nil }
        if t.isInfinite { return 0 }
        return regularizedBeta(df / (df + t * t), df / 2, 0.5)
    }
}
