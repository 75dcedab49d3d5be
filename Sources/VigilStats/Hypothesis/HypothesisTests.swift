import RealModule

/// A test statistic with its two-sided p-value.
public struct TestResult: Sendable, Equatable {
    public var statistic: Double
    public var pValue: Double
    public init(statistic: Double, pValue: Double) {
        self.statistic = statistic
        self.pValue = pValue
    }
}

/// Welch's unequal-variance t-test.
public struct WelchResult: Sendable, Equatable {
    public var t: Double
    public var degreesOfFreedom: Double
    public var pValue: Double
}

/// Classical tests on summary statistics.
public enum HypothesisTests {
    /// Pooled two-proportion z-test of H0: p₁ = p₂, two-sided.
    ///
    /// z = (p̂₂ − p̂₁) / √(p̂(1−p̂)(1/n₁ + 1/n₂)) with the pooled p̂ = (x₁+x₂)/(n₁+n₂); matches
    /// `statsmodels.stats.proportion.proportions_ztest` (with the sign of candidate − baseline).
    /// `nil` when a sample is empty or the pooled proportion is 0 or 1 (no variance).
    public static func twoProportionZ(successes1 x1: Int, trials1 n1: Int, successes2 x2: Int, trials2 n2: Int)
        -> TestResult?
    {
        guard n1 > 0, n2 > 0, x1 >= 0, x2 >= 0, x1 <= n1, x2 <= n2 else { return nil }
        let p1 = Double(x1) / Double(n1)
        let p2 = Double(x2) / Double(n2)
        let pooled = Double(x1 + x2) / Double(n1 + n2)
        let variance = pooled * (1 - pooled) * (1 / Double(n1) + 1 / Double(n2))
        guard variance > 0 else { return nil }
        let z = (p2 - p1) / variance.squareRoot()
        return TestResult(statistic: z, pValue: 2 * SpecialFunctions.normalSurvival(abs(z)))
    }

    /// Welch's t-test from two samples' moments: t = (m₂ − m₁)/√(v₁/n₁ + v₂/n₂) with sample
    /// variances (ddof 1), Welch–Satterthwaite degrees of freedom, two-sided p; matches
    /// `scipy.stats.ttest_ind(b, a, equal_var=False)`. `nil` with fewer than two values per
    /// sample or zero variance in both.
    public static func welch(
        mean1: Double, variance1: Double, count1: Int, mean2: Double, variance2: Double, count2: Int
    ) -> WelchResult? {
        guard count1 >= 2, count2 >= 2 else { return nil }
        let a = variance1 / Double(count1)
        let b = variance2 / Double(count2)
        guard a + b > 0 else { return nil }
        let t = (mean2 - mean1) / (a + b).squareRoot()
        let df = (a + b) * (a + b) / (a * a / Double(count1 - 1) + b * b / Double(count2 - 1))
        guard let p = SpecialFunctions.studentTTwoSided(t, degreesOfFreedom: df) else { return nil }
        return WelchResult(t: t, degreesOfFreedom: df, pValue: p)
    }

    /// Benjamini–Hochberg adjusted p-values, in input order: p₍ᵢ₎·m/i made monotone from the
    /// largest rank down and capped at 1; matches
    /// `statsmodels.stats.multitest.multipletests(method="fdr_bh")` and
    /// `scipy.stats.false_discovery_control(method="bh")`.
    public static func benjaminiHochberg(_ pValues: [Double]) -> [Double] {
        let m = pValues.count
        guard m > 0 else { return [] }
        let order = pValues.indices.sorted { pValues[$0] < pValues[$1] }
        var adjusted = [Double](repeating: 0, count: m)
        var running = 1.0
        for rank in stride(from: m, through: 1, by: -1) {
            let index = order[rank - 1]
            running = min(running, pValues[index] * Double(m) / Double(rank))
            adjusted[index] = min(1, running)
        }
        return adjusted
    }
}

/// A confidence interval.
public struct Interval95: Sendable, Equatable {
    public var lower: Double
    public var upper: Double
    public init(lower: Double, upper: Double) {
        self.lower = lower
        self.upper = upper
    }
}

extension HypothesisTests {
    /// z for a two-sided 95% interval: Φ⁻¹(0.975).
    public static let z95 = 1.959963984540054

    /// Wilson score interval for a binomial proportion:
    /// (p̂ + z²/2n ± z√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n); matches
    /// `statsmodels.stats.proportion.proportion_confint(method="wilson")`. `nil` for n = 0.
    public static func wilson(successes: Int, trials: Int, z: Double = z95) -> Interval95? {
        guard trials > 0, successes >= 0, successes <= trials else { return nil }
        let n = Double(trials)
        let p = Double(successes) / n
        let z2 = z * z
        let center = (p + z2 / (2 * n)) / (1 + z2 / n)
        let half = z * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot() / (1 + z2 / n)
        return Interval95(lower: max(0, center - half), upper: min(1, center + half))
    }
}
