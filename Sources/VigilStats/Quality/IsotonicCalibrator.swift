/// A monotone (non-decreasing) map from predicted probability to observed frequency, fitted by
/// isotonic regression on a labelled sample: scikit-learn's
/// `IsotonicRegression(out_of_bounds="clip", increasing=True)`, which NannyML's CBPE uses to
/// calibrate confidences on its labelled reference.
///
/// Fitting: sort by probability, merge equal probabilities into one point whose value is the
/// mean outcome and whose weight is their count (sklearn's `_make_unique`), then pool adjacent
/// violators (weighted means) until the values are non-decreasing. Prediction interpolates
/// linearly between the fitted points and clips outside their range (`interp1d` after clipping).
/// A sample with one distinct probability calibrates everything to its mean outcome.
public struct IsotonicCalibrator: Sendable, Equatable {
    /// Ascending distinct probabilities of the fitted sample.
    public private(set) var thresholds: [Double]
    /// The fitted value at each threshold (non-decreasing).
    public private(set) var values: [Double]

    /// Fits on pairs of (probability, outcome); `nil` when no pair has a finite probability.
    public init?(probabilities: [Double], outcomes: [Bool]) {
        precondition(probabilities.count == outcomes.count, "one outcome per probability")
        var pairs: [(p: Double, y: Double)] = []
        pairs.reserveCapacity(probabilities.count)
        for (p, y) in zip(probabilities, outcomes) where p.isFinite { pairs.append((p, y ? 1 : 0)) }
        guard !pairs.isEmpty else { return nil }
        pairs.sort { $0.p < $1.p }
        // Distinct probabilities with the weighted mean outcome.
        var xs: [Double] = []
        var means: [Double] = []
        var weights: [Double] = []
        for (p, y) in pairs {
            if let last = xs.last, last == p {
                let w = weights[weights.count - 1]
                means[means.count - 1] += (y - means[means.count - 1]) / (w + 1)
                weights[weights.count - 1] = w + 1
            } else {
                xs.append(p)
                means.append(y)
                weights.append(1)
            }
        }
        thresholds = xs
        values = Self.poolAdjacentViolators(means, weights)
    }

    init(thresholds: [Double], values: [Double]) {
        self.thresholds = thresholds
        self.values = values
    }

    /// Weighted pool-adjacent-violators: blocks of (mean, weight, length), merged backwards
    /// while a block's mean falls below its predecessor's.
    static func poolAdjacentViolators(_ y: [Double], _ w: [Double]) -> [Double] {
        var blockMean: [Double] = []
        var blockWeight: [Double] = []
        var blockLength: [Int] = []
        for i in y.indices {
            blockMean.append(y[i])
            blockWeight.append(w[i])
            blockLength.append(1)
            while blockMean.count > 1, blockMean[blockMean.count - 2] > blockMean[blockMean.count - 1] {
                let m2 = blockMean.removeLast()
                let w2 = blockWeight.removeLast()
                let l2 = blockLength.removeLast()
                let last = blockMean.count - 1
                let total = blockWeight[last] + w2
                blockMean[last] = (blockMean[last] * blockWeight[last] + m2 * w2) / total
                blockWeight[last] = total
                blockLength[last] += l2
            }
        }
        var fitted: [Double] = []
        fitted.reserveCapacity(y.count)
        for (mean, length) in zip(blockMean, blockLength) {
            fitted.append(contentsOf: repeatElement(mean, count: length))
        }
        return fitted
    }

    /// The calibrated probability of `p`: clipped to the fitted range, then interpolated.
    public func calibrate(_ p: Double) -> Double {
        guard thresholds.count > 1 else { return values[0] }
        let x = Swift.min(Swift.max(p, thresholds[0]), thresholds[thresholds.count - 1])
        var low = 0
        var high = thresholds.count - 1
        while high - low > 1 {
            let mid = (low + high) / 2
            if thresholds[mid] <= x { low = mid } else { high = mid }
        }
        let x0 = thresholds[low]
        let x1 = thresholds[high]
        let y0 = values[low]
        let y1 = values[high]
        guard x1 > x0 else { return y0 }
        // scipy's interp1d: slope·(x − x0) + y0.
        return (y1 - y0) / (x1 - x0) * (x - x0) + y0
    }

    /// Thresholds then values, as a count and doubles.
    public func encoded() -> [UInt8] {
        var w = BinaryWriter(capacity: 16 + thresholds.count * 16)
        w.write(count: thresholds.count)
        for x in thresholds { w.write(double: x) }
        for y in values { w.write(double: y) }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) -> IsotonicCalibrator? {
        var r = BinaryReader(bytes)
        guard let n = r.readVarint(), n >= 1, n <= UInt64(bytes.count / 16) else { return nil }
        var xs: [Double] = []
        var ys: [Double] = []
        for _ in 0..<n {
            guard let x = r.readDouble() else { return nil }
            xs.append(x)
        }
        for _ in 0..<n {
            guard let y = r.readDouble() else { return nil }
            ys.append(y)
        }
        guard r.isAtEnd else { return nil }
        return IsotonicCalibrator(thresholds: xs, values: ys)
    }
}
