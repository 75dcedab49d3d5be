import RealModule

/// An always-valid interval for a difference and its always-valid p-value.
public struct SequentialResult: Sendable, Equatable {
    public var interval: Interval95
    public var pValue: Double
}

/// The asymptotic confidence sequence of Waudby-Smith et al., "Time-uniform central limit theory
/// and asymptotic confidence sequences" (2023), in the form GrowthBook's sequential test and
/// PostHog use (checked against GrowthBook's `gbstats` `SequentialTwoSidedTTest`): for a difference θ̂ of two means (or proportions) with SE² = v₁/n₁ + v₂/n₂ and
/// n = n₁ + n₂, the interval θ̂ ± s·√(2(nρ² + 1)/(n²ρ²) · ln(√(nρ² + 1)/α)) with s² = SE²·n holds
/// for every n at once with probability 1 − α, however often it is looked at. ρ is chosen so the
/// sequence is tightest at the tuning sample size N: ρ = √((−2 ln α + ln(1 − 2 ln α))/N).
///
/// The p-value is the reciprocal of the sequence's e-value, E = exp(ρ²t²/(2(nρ² + 1)))/√(nρ² + 1)
/// with t² = θ̂²n²/s², capped at 1: rejecting when p ≤ α is the same as the interval excluding 0.
public enum ConfidenceSequence {
    /// The tuning sample size when none is configured (GrowthBook's default).
    public static let defaultTuning = 5_000

    /// ρ for a tuning sample size `tuning` (total over both sides) and level `alpha`.
    public static func rho(tuning: Int, alpha: Double = 0.05) -> Double {
        let l = -2 * Double.log(alpha)
        return ((l + Double.log(1 + l)) / Double(max(1, tuning))).squareRoot()
    }

    /// The always-valid interval and p-value of `difference` (candidate − baseline) whose
    /// standard error squared is `standardError2`, after `n` observations over both sides.
    /// `nil` when n is 0 or the standard error is not positive and finite.
    public static func result(
        difference: Double, standardError2: Double, n: Int, tuning: Int = defaultTuning, alpha: Double = 0.05
    ) -> SequentialResult? {
        guard n > 0, standardError2 > 0, standardError2.isFinite, difference.isFinite else { return nil }
        let rho2 = rho(tuning: tuning, alpha: alpha) * rho(tuning: tuning, alpha: alpha)
        let nn = Double(n)
        let growth = nn * rho2 + 1
        let half = halfWidth(standardError2: standardError2, n: n, tuning: tuning, alpha: alpha)
        // t² = (nθ̂)²/s² = θ̂²n/SE²: the squared sum of the centred observations over s².
        let t2 = difference * difference * nn / standardError2
        // ln E, so a huge t² cannot overflow exp.
        let logE = rho2 * t2 / (2 * growth) - 0.5 * Double.log(growth)
        let p = logE <= 0 ? 1 : min(1, Double.exp(-logE))
        return SequentialResult(interval: Interval95(lower: difference - half, upper: difference + half), pValue: p)
    }

    /// The half-width of the sequence after `n` observations over both sides, for a standard
    /// error squared `standardError2`.
    public static func halfWidth(standardError2: Double, n: Int, tuning: Int = defaultTuning, alpha: Double = 0.05)
        -> Double
    {
        let rho2 = rho(tuning: tuning, alpha: alpha) * rho(tuning: tuning, alpha: alpha)
        let nn = Double(n)
        let growth = nn * rho2 + 1
        return (standardError2 * nn * 2 * growth / (nn * nn * rho2) * Double.log(growth.squareRoot() / alpha))
            .squareRoot()
    }

    /// The sample size per side at which this sequence decides a true difference `difference`
    /// with power 0.8: the smallest n with |δ| − z₀.₈·SE(n) ≥ half-width(2n), SE(n)² = (v₁ + v₂)/n,
    /// where v₁, v₂ are one observation's variances on each side. Larger than the fixed-horizon
    /// `HypothesisTests.sampleSizePerSide`: the price of looking at every evaluation. `nil` for
    /// δ = 0 or past 10¹² per side.
    public static func sampleSizePerSide(
        difference: Double, variance1: Double, variance2: Double, tuning: Int = defaultTuning, alpha: Double = 0.05
    ) -> Int? {
        let v = variance1 + variance2
        guard difference != 0, difference.isFinite, v > 0, v.isFinite else { return nil }
        let distance = abs(difference)
        func decides(_ n: Int) -> Bool {
            let se2 = v / Double(n)
            return distance - HypothesisTests.z80 * se2.squareRoot()
                >= halfWidth(standardError2: se2, n: 2 * n, tuning: tuning, alpha: alpha)
        }
        var high = 1
        while !decides(high) {
            guard high < 1_000_000_000_000 else { return nil }
            high *= 2
        }
        var low = high / 2  // does not decide (0 when 1 does)
        while high - low > 1 {
            let mid = low + (high - low) / 2
            if decides(mid) { high = mid } else { low = mid }
        }
        return high
    }
}

/// Fixed-horizon intervals, paired tests and sample sizes for comparing two sides.
extension HypothesisTests {
    /// The unpooled (Wald) 95% interval of p̂₂ − p̂₁, as
    /// `statsmodels.stats.proportion.confint_proportions_2indep(x2, n2, x1, n1, method="wald",
    /// compare="diff")`. `nil` when a side is empty.
    public static func proportionDifferenceInterval(
        successes1 x1: Int, trials1 n1: Int, successes2 x2: Int, trials2 n2: Int
    ) -> Interval95? {
        guard n1 > 0, n2 > 0 else { return nil }
        let p1 = Double(x1) / Double(n1)
        let p2 = Double(x2) / Double(n2)
        let se = (p1 * (1 - p1) / Double(n1) + p2 * (1 - p2) / Double(n2)).squareRoot()
        return Interval95(lower: p2 - p1 - z95 * se, upper: p2 - p1 + z95 * se)
    }

    /// Welch's 95% interval of m₂ − m₁: the difference ± t₀.₉₇₅(df)·SE with Welch–Satterthwaite
    /// df, as `scipy.stats.ttest_ind(b, a, equal_var=False).confidence_interval()`.
    public static func welchInterval(
        mean1: Double, variance1: Double, count1: Int, mean2: Double, variance2: Double, count2: Int
    ) -> Interval95? {
        guard
            let r = welch(
                mean1: mean1, variance1: variance1, count1: count1, mean2: mean2, variance2: variance2,
                count2: count2),
            let t = studentTQuantile975(degreesOfFreedom: r.degreesOfFreedom)
        else { return nil }
        let se = (variance1 / Double(count1) + variance2 / Double(count2)).squareRoot()
        return Interval95(lower: mean2 - mean1 - t * se, upper: mean2 - mean1 + t * se)
    }

    /// The 0.975 quantile of Student's t with `df` degrees of freedom, by bisection on the
    /// two-sided tail (`scipy.stats.t.ppf(0.975, df)` to 1e-12).
    public static func studentTQuantile975(degreesOfFreedom df: Double) -> Double? {
        guard df > 0, df.isFinite else { return nil }
        var low = 0.0
        var high = 1.0
        while (SpecialFunctions.studentTTwoSided(high, degreesOfFreedom: df) ?? 0) > 0.05 { high *= 2 }
        for _ in 0..<200 {
            let mid = (low + high) / 2
            if (SpecialFunctions.studentTTwoSided(mid, degreesOfFreedom: df) ?? 0) > 0.05 { low = mid } else { high = mid }
            if high - low <= 1e-14 * high { break }
        }
        return (low + high) / 2
    }

    /// McNemar's test on paired outcomes: `b` pairs where only the first is a success, `c` where
    /// only the second is; χ² with continuity correction, (|b − c| − 1)²/(b + c), one degree of
    /// freedom, as `statsmodels.stats.contingency_tables.mcnemar(table, exact=False,
    /// correction=True)`. `nil` when no pair disagrees.
    public static func mcnemar(onlyFirst b: Int, onlySecond c: Int) -> TestResult? {
        guard b + c > 0 else { return nil }
        let d = max(0, Double(abs(b - c)) - 1)
        let chi2 = d * d / Double(b + c)
        guard let p = SpecialFunctions.chiSquareSurvival(chi2, degreesOfFreedom: 1) else { return nil }
        return TestResult(statistic: chi2, pValue: p)
    }

    /// The paired t-test from the moments of the differences (second − first), as
    /// `scipy.stats.ttest_rel(second, first)`. `nil` with fewer than two pairs or no variance.
    public static func pairedT(meanDifference: Double, variance: Double, count: Int) -> TestResult? {
        guard count >= 2, variance > 0 else { return nil }
        let t = meanDifference / (variance / Double(count)).squareRoot()
        guard let p = SpecialFunctions.studentTTwoSided(t, degreesOfFreedom: Double(count - 1)) else { return nil }
        return TestResult(statistic: t, pValue: p)
    }

    /// The delta-method variance of an F1 score estimated from its counts. F1 = 2TP/(2TP + FP + FN)
    /// is a function of the multinomial cell proportions that is homogeneous of degree 0, so its
    /// variance is Σ (∂F/∂pᵢ)²·pᵢ/N, which in counts is 4·TP·(FP + FN)·(TP + FP + FN)/(2TP + FP + FN)⁴
    /// (N cancels); counts may be fractional (CBPE's expected confusion). Checked against a numerical Jacobian of scikit-learn's `f1_score` in the
    /// fixture script. 0 for a perfect score; `nil` when F1 is undefined (no TP, FP or FN).
    public static func f1Variance(truePositives c1: Double, falsePositives fp: Double, falseNegatives fn: Double)
        -> Double?
    {
        let errors = fp + fn
        let d = 2 * c1 + errors
        guard d > 0 else { return nil }
        return 4 * c1 * errors * (c1 + errors) / (d * d * d * d)
    }

    /// z for a power of 0.8: Φ⁻¹(0.8).
    public static let z80 = 0.8416212335729143

    /// The sample size per side at which a true difference `difference` is detected with power
    /// 0.8 by a two-sided test at α = 0.05, when one observation on each side has variances
    /// `variance1` and `variance2`: (z₀.₉₇₅ + z₀.₈)²(v₁ + v₂)/δ², rounded up. `nil` for δ = 0.
    public static func sampleSizePerSide(difference: Double, variance1: Double, variance2: Double) -> Int? {
        guard difference != 0, difference.isFinite, variance1 + variance2 > 0 else { return nil }
        let z = z95 + z80
        let n = (z * z * (variance1 + variance2) / (difference * difference)).rounded(.up)
        return n < Double(Int.max / 2) ? Int(n) : nil
    }
}
