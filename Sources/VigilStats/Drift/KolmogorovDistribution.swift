import RealModule

/// The distribution of the one-sample two-sided Kolmogorov–Smirnov statistic Dₙ for finite n
/// (`scipy.stats.kstwo`), which `ks_2samp` uses with n = round(n₁n₂/(n₁+n₂)) once a sample
/// exceeds 10,000 values. Regions and methods follow Simard & L'Ecuyer, "Computing the
/// Two-Sided Kolmogorov–Smirnov Distribution" (J. Stat. Software 39(11), 2011), with scipy's
/// cut-offs so the two agree: Ruben–Gambino closed forms at the extremes, the exact Durbin
/// matrix (Marsaglia, Tsang & Wang 2003) for small n·x², 2·(one-sided Smirnov) in the upper tail
/// (Miller), and the Pelz–Good expansion for large n.
public enum KolmogorovDistribution {
    /// P(Dₙ ≥ x).
    public static func survival(_ x: Double, n: Int) -> Double {
        guard n > 0 else { return .nan }
        if x >= 1 { return 0 }
        if x <= 0 { return 1 }
        let nd = Double(n)
        let t = nd * x
        if t <= 1 {  // Ruben–Gambino: P(Dₙ < x) = n!/nⁿ (2t − 1)ⁿ for 1/2n ≤ x ≤ 1/n.
            if t <= 0.5 { return 1 }
            let logCDF = logFactorialOverPower(n) + nd * Double.log(2 * t - 1)
            return clip(1 - Double.exp(logCDF))
        }
        if t >= nd - 1 { return clip(2 * Double.pow(1 - x, nd)) }  // Ruben–Gambino upper end
        if x >= 0.5 { return clip(2 * smirnov(n, x)) }
        let nxx = t * x
        if n <= 140 {
            if nxx <= 4 { return clip(1 - durbin(n, x)) }  // exact (scipy: DMTW or Pomeranz, both exact)
            return clip(2 * smirnov(n, x))
        }
        if nxx >= 370 { return 0 }
        if nxx >= 2.2 { return clip(2 * smirnov(n, x)) }
        if n <= 100_000 && nd * Double.pow(x, 1.5) <= 1.4 { return clip(1 - durbin(n, x)) }
        return clip(1 - pelzGood(n, x))
    }

    static func clip(_ p: Double) -> Double { Swift.min(1, Swift.max(0, p)) }

    /// log(n!/nⁿ).
    static func logFactorialOverPower(_ n: Int) -> Double {
        Double.logGamma(Double(n) + 1) - Double(n) * Double.log(Double(n))
    }

    /// One-sided P(Dₙ⁺ ≥ x) by Birnbaum & Tingey (1951):
    /// x Σ_{j=0}^{⌊n(1−x)⌋} C(n, j) (1 − x − j/n)^{n−j} (x + j/n)^{j−1}, summed in logs.
    /// The terms rise to one peak and fall (they are unimodal in j), so the sum starts at the
    /// peak, found by bisecting on the sign of consecutive differences, and walks outward until
    /// the terms are e⁻⁶⁰ below it: a few hundred terms instead of n for large n.
    static func smirnov(_ n: Int, _ x: Double) -> Double {
        let nd = Double(n)
        let last = Swift.max(0, Int((nd * (1 - x)).rounded(.down)))
        let logN1 = Double.logGamma(nd + 1)
        func term(_ j: Int) -> Double {
            let jd = Double(j)
            let a = 1 - x - jd / nd
            if a <= 0 && n - j > 0 { return -.infinity }
            var t = logN1 - Double.logGamma(jd + 1) - Double.logGamma(nd - jd + 1) + (jd - 1) * Double.log(x + jd / nd)
            if n - j > 0 { t += (nd - jd) * Double.log(a) }
            return t
        }
        // The first j whose successor is not larger: the peak.
        var low = 0
        var high = last
        while low < high {
            let mid = (low + high) / 2
            if term(mid + 1) > term(mid) { low = mid + 1 } else { high = mid }
        }
        let top = term(low)
        guard top > -.infinity else { return 0 }
        // Walk outward carrying log j! and log (n − j)! from the peak (a log per step, not two
        // log-gammas).
        func rest(_ j: Int, _ logJ: Double, _ logNJ: Double) -> Double {
            let jd = Double(j)
            let a = 1 - x - jd / nd
            if a <= 0 && n - j > 0 { return -.infinity }
            var t = logN1 - logJ - logNJ + (jd - 1) * Double.log(x + jd / nd)
            if n - j > 0 { t += (nd - jd) * Double.log(a) }
            return t
        }
        let peakJ = Double.logGamma(Double(low) + 1)
        let peakNJ = Double.logGamma(nd - Double(low) + 1)
        var sum = 1.0
        var logJ = peakJ
        var logNJ = peakNJ
        var j = low - 1
        while j >= 0 {
            logJ -= Double.log(Double(j + 1))
            logNJ += Double.log(nd - Double(j))
            let t = rest(j, logJ, logNJ)
            if t < top - 60 { break }
            sum += Double.exp(t - top)
            j -= 1
        }
        logJ = peakJ
        logNJ = peakNJ
        j = low + 1
        while j <= last {
            logJ += Double.log(Double(j))
            logNJ -= Double.log(nd - Double(j) + 1)
            let t = rest(j, logJ, logNJ)
            if t < top - 60 { break }
            sum += Double.exp(t - top)
            j += 1
        }
        return clip(x * Double.exp(top) * sum)
    }

    /// P(Dₙ < d) exactly, by Durbin's matrix: with k = ⌈nd⌉, h = k − nd and m = 2k − 1,
    /// P = n!/nⁿ · (Hⁿ)_{kk}, where H_{ij} = 1/(i−j+1)! (0 when i−j+1 < 0) except the first
    /// column (1 − h^{i})/i!, the last row (1 − h^{m−j+1})/(m−j+1)! and the corner
    /// (1 − 2hᵐ + max(0, 2h−1)ᵐ)/m! (1-based indices). Powers are taken by squaring with the
    /// exponent of 2 tracked apart, as Marsaglia, Tsang & Wang do, so nothing overflows.
    static func durbin(_ n: Int, _ d: Double) -> Double {
        let nd = Double(n) * d
        if d >= 1 { return 1 }
        if nd <= 0.5 { return 0 }
        let k = Int(nd.rounded(.up))
        let h = Double(k) - nd
        let m = 2 * k - 1
        var inverseFactorial = [1.0]
        for i in 1...m { inverseFactorial.append(inverseFactorial[i - 1] / Double(i)) }
        var H = [Double](repeating: 0, count: m * m)
        for i in 0..<m {
            for j in 0..<m where i - j + 1 >= 0 { H[i * m + j] = inverseFactorial[i - j + 1] }
        }
        for i in 0..<m {
            H[i * m] = (1 - Double.pow(h, Double(i + 1))) * inverseFactorial[i + 1]
            H[(m - 1) * m + i] = (1 - Double.pow(h, Double(m - i))) * inverseFactorial[m - i]
        }
        H[(m - 1) * m] =
            (1 - 2 * Double.pow(h, Double(m)) + Double.pow(Swift.max(0, 2 * h - 1), Double(m))) * inverseFactorial[m]
        var (power, powerExponent) = matrixPower(H, m, n)
        // Multiply by n!/nⁿ step by step, rescaling to stay in range.
        var p = power[(k - 1) * m + (k - 1)]
        for i in 1...n {
            p = p * Double(i) / Double(n)
            if p != 0 && abs(p) < 1e-140 {
                p *= 0x1p300
                powerExponent -= 300
            }
        }
        power.removeAll()
        return clip(scale(p, powerExponent))
    }

    static func scale(_ x: Double, _ exponent: Int) -> Double {
        var x = x
        var e = exponent
        while e > 1000 {
            x *= 0x1p1000
            e -= 1000
        }
        while e < -1000 {
            x *= 0x1p-1000
            e += 1000
        }
        return x * Double(sign: .plus, exponent: e, significand: 1)
    }

    /// Hⁿ by repeated squaring; returns the matrix and a power-of-two exponent to apply.
    static func matrixPower(_ base: [Double], _ m: Int, _ n: Int) -> ([Double], Int) {
        var result = [Double](repeating: 0, count: m * m)
        for i in 0..<m { result[i * m + i] = 1 }
        var resultExponent = 0
        var square = base
        var squareExponent = 0
        var remaining = n
        while remaining > 0 {
            if remaining & 1 == 1 {
                result = multiply(result, square, m)
                resultExponent += squareExponent
                rescale(&result, &resultExponent)
            }
            remaining >>= 1
            if remaining > 0 {
                square = multiply(square, square, m)
                squareExponent *= 2
                rescale(&square, &squareExponent)
            }
        }
        return (result, resultExponent)
    }

    /// Keeps a matrix's entries in range by moving a power of two into `exponent`.
    static func rescale(_ a: inout [Double], _ exponent: inout Int) {
        let largest = a.reduce(0) { Swift.max($0, abs($1)) }
        guard largest > 0x1p200 || (largest > 0 && largest < 0x1p-200) else { return }
        let shift = Int(largest.exponent)
        let factor = scale(1, -shift)
        for i in a.indices { a[i] *= factor }
        exponent += shift
    }

    static func multiply(_ a: [Double], _ b: [Double], _ m: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * m)
        for i in 0..<m {
            for l in 0..<m {
                let ail = a[i * m + l]
                if ail == 0 { continue }
                for j in 0..<m { c[i * m + j] += ail * b[l * m + j] }
            }
        }
        return c
    }

    /// Pelz & Good (1976): P(Dₙ ≤ x) ≈ K₀(z) + K₁(z)/√n + K₂(z)/n + K₃(z)/n^{3/2}, z = x√n,
    /// each Kᵢ in its small-z theta-function form (Simard & L'Ecuyer 2011, eq. 10).
    static func pelzGood(_ n: Int, _ x: Double) -> Double {
        let pi = Double.pi
        let z = Double(n).squareRoot() * x
        let z2 = z * z
        let z3 = z2 * z
        let z4 = z2 * z2
        let z6 = z4 * z2
        let z7 = z6 * z
        let z8 = z4 * z4
        let z10 = z8 * z2
        let pi2 = pi * pi
        let pi4 = pi2 * pi2
        let pi6 = pi4 * pi2
        let logQ = -pi2 / (8 * z2)
        if logQ < -708 { return 0 }
        let q = Double.exp(logQ)
        let kMax = Int((16 * z / pi).rounded(.up))
        var k0 = 0.0
        var k1 = 0.0
        var k2 = 0.0
        var k3 = 0.0
        // Σ_k over odd (2k−1): terms carry e^{−(2k−1)²π²/8z²} = q^{(2k−1)²}.
        for k in 1...Swift.max(1, kMax) {
            let j = Double(2 * k - 1)
            let j2 = j * j
            let j4 = j2 * j2
            let j6 = j4 * j2
            let e = Double.pow(q, j2)
            k0 += e
            k1 += (pi2 * j2 / 4 - z2) * e
            k2 += (6 * z6 + 2 * z4 + pi2 * (2 * z4 - 5 * z2) * j2 / 4 + pi4 * (1 - 2 * z2) * j4 / 16) * e
            k3 +=
                (pi6 * j6 * (5 - 30 * z2) / 64 + pi4 * (-60 * z2 + 212 * z4) * j4 / 16
                    + pi2 * (135 * z4 - 96 * z6) * j2 / 4 - 30 * z6 - 90 * z8) * e
        }
        let root2pi = (2 * pi).squareRoot()
        k0 *= root2pi / z
        k1 *= root2pi / (6 * z4)
        k2 *= root2pi / (72 * z7)
        k3 *= root2pi / (6480 * z10)
        // Terms in e^{−k²π²/2z²}.
        var extra2 = 0.0
        var extra3 = 0.0
        for k in 1...Swift.max(1, kMax) {
            let kd = Double(k)
            let e = Double.exp(-kd * kd * pi2 / (2 * z2))
            extra2 += kd * kd * e
            extra3 += (3 * z2 - kd * kd * pi2) * kd * kd * e
        }
        k2 -= pi2 * root2pi / (36 * z3) * extra2
        k3 += pi2 * root2pi / (216 * z6) * extra3
        let rn = Double(n).squareRoot()
        return k0 + k1 / rn + k2 / Double(n) + k3 / (Double(n) * rn)
    }
}
