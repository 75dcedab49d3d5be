/// Confidence-based performance estimation (CBPE) for a binary model, as NannyML computes it:
/// each prediction with (calibrated) P(positive) = p adds p to expected TP and 1 − p to expected FP
/// when predicted positive, p to expected FN and 1 − p to expected TN otherwise.
///
/// Mergeable (sums add, exactly up to floating-point rounding). Memory: 40 bytes.
public struct ExpectedConfusion: Sendable, Equatable {
    public private(set) var truePositives = 0.0
    public private(set) var falsePositives = 0.0
    public private(set) var falseNegatives = 0.0
    public private(set) var trueNegatives = 0.0
    public private(set) var count = 0

    public init() {}

    /// Adds one prediction: its predicted class and P(positive) in [0, 1].
    public mutating func add(predictedPositive: Bool, probability p: Double) {
        let p = Swift.min(1, Swift.max(0, p))
        if predictedPositive {
            truePositives += p
            falsePositives += 1 - p
        } else {
            falseNegatives += p
            trueNegatives += 1 - p
        }
        count += 1
    }

    public mutating func merge(_ other: ExpectedConfusion) {
        truePositives += other.truePositives
        falsePositives += other.falsePositives
        falseNegatives += other.falseNegatives
        trueNegatives += other.trueNegatives
        count += other.count
    }

    /// E[TP]/(E[TP]+E[FP]) (NannyML `estimate_precision`); `nil` with no predicted positives.
    public var precision: Double? { ratio(truePositives, truePositives + falsePositives) }
    /// E[TP]/(E[TP]+E[FN]) (NannyML `estimate_recall`); `nil` when no positive mass is expected.
    public var recall: Double? { ratio(truePositives, truePositives + falseNegatives) }
    /// 2E[TP]/(2E[TP]+E[FP]+E[FN]) (NannyML `estimate_f1`).
    public var f1: Double? { ratio(2 * truePositives, 2 * truePositives + falsePositives + falseNegatives) }
    /// (E[TP]+E[TN])/n (NannyML `estimate_accuracy`).
    public var accuracy: Double? { count > 0 ? (truePositives + trueNegatives) / Double(count) : nil }

    private func ratio(_ a: Double, _ b: Double) -> Double? { b > 0 ? a / b : nil }

    /// Four doubles and a varint.
    public func encoded() -> [UInt8] {
        var w = BinaryWriter(capacity: 40)
        for v in [truePositives, falsePositives, falseNegatives, trueNegatives] { w.write(double: v) }
        w.write(count: count)
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) -> ExpectedConfusion? {
        var r = BinaryReader(bytes)
        guard let tp = r.readDouble(), let fp = r.readDouble(), let fn = r.readDouble(), let tn = r.readDouble(),
            let count = r.readVarint(), count <= UInt64(Int.max / 2), r.isAtEnd
        else { return nil }
        var e = ExpectedConfusion()
        (e.truePositives, e.falsePositives, e.falseNegatives, e.trueNegatives, e.count) = (tp, fp, fn, tn, Int(count))
        return e
    }
}

/// Reliability of probabilities: expected calibration error over 10 equal-width bins and the
/// Brier score.
///
/// ECE = Σ_b (n_b/n)·|mean(y)_b − mean(p)_b| with bins [0, 0.1), …, [0.9, 1.0] (p = 1 in the last);
/// Brier = mean((p − y)²), as `sklearn.metrics.brier_score_loss`. Mergeable (sums add). Memory:
/// 10 bins × 24 bytes.
public struct CalibrationBins: Sendable, Equatable {
    public static let binCount = 10
    public private(set) var counts = [Int](repeating: 0, count: binCount)
    public private(set) var probabilitySums = [Double](repeating: 0, count: binCount)
    public private(set) var outcomeSums = [Int](repeating: 0, count: binCount)
    public private(set) var squaredErrorSum = 0.0

    public init() {}

    /// The bin of probability p: ⌊10p⌋, with p = 1 in the last bin.
    /// Total: NaN falls in the first bin, out-of-range values in the outer bins.
    public static func bin(of p: Double) -> Int {
        guard p > 0 else { return 0 }
        guard p < 1 else { return binCount - 1 }
        return Swift.min(binCount - 1, Int(p * Double(binCount)))
    }

    public mutating func add(probability p: Double, positive: Bool) {
        let b = Self.bin(of: p)
        counts[b] += 1
        probabilitySums[b] += p
        if positive { outcomeSums[b] += 1 }
        let y = positive ? 1.0 : 0.0
        squaredErrorSum += (p - y) * (p - y)
    }

    /// Takes back one `add` (a replaced label); a bin with nothing of that outcome is left as is.
    public mutating func remove(probability p: Double, positive: Bool) {
        let b = Self.bin(of: p)
        guard positive ? outcomeSums[b] > 0 : counts[b] - outcomeSums[b] > 0 else { return }
        counts[b] -= 1
        probabilitySums[b] -= p
        if positive { outcomeSums[b] -= 1 }
        let y = positive ? 1.0 : 0.0
        squaredErrorSum -= (p - y) * (p - y)
    }

    public mutating func merge(_ other: CalibrationBins) {
        for b in 0..<Self.binCount {
            counts[b] += other.counts[b]
            probabilitySums[b] += other.probabilitySums[b]
            outcomeSums[b] += other.outcomeSums[b]
        }
        squaredErrorSum += other.squaredErrorSum
    }

    public var count: Int { counts.reduce(0, +) }

    /// Expected calibration error; `nil` when empty.
    public var expectedCalibrationError: Double? {
        let n = Double(count)
        guard n > 0 else { return nil }
        var ece = 0.0
        for b in 0..<Self.binCount where counts[b] > 0 {
            let size = Double(counts[b])
            ece += size / n * abs(Double(outcomeSums[b]) / size - probabilitySums[b] / size)
        }
        return ece
    }

    /// Brier score; `nil` when empty.
    public var brierScore: Double? { count > 0 ? squaredErrorSum / Double(count) : nil }

    /// Per bin: count, probability sum, outcome sum; then the squared-error sum.
    public func encoded() -> [UInt8] {
        var w = BinaryWriter(capacity: 200)
        for b in 0..<Self.binCount {
            w.write(count: counts[b])
            w.write(double: probabilitySums[b])
            w.write(count: outcomeSums[b])
        }
        w.write(double: squaredErrorSum)
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) -> CalibrationBins? {
        var r = BinaryReader(bytes)
        var c = CalibrationBins()
        for b in 0..<binCount {
            guard let n = r.readVarint(), n <= UInt64(Int.max / 2), let p = r.readDouble(), let y = r.readVarint(),
                y <= n
            else { return nil }
            (c.counts[b], c.probabilitySums[b], c.outcomeSums[b]) = (Int(n), p, Int(y))
        }
        guard let sse = r.readDouble(), r.isAtEnd else { return nil }
        c.squaredErrorSum = sse
        return c
    }
}
