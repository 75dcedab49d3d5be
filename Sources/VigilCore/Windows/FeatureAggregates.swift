import VigilStats

/// A numeric column's aggregates in one bucket: moments, a quantile sketch, and — when the
/// reference existed as the values arrived — counts over its decile bins (PSI, JS) and over its
/// fine bins (KS and Wasserstein past the sketch's exact range).
public struct NumericAggregate: Sendable, Equatable {
    public var moments = Moments()
    public var sketch = QuantileSketch()
    /// Counts over the bins of the reference with `generation`; covers `binned` of the values.
    public var histogram: BinnedHistogram?
    /// Counts over the same reference's fine bins; complete when its total is the value count.
    public var fine: FineCounts?
    public var generation: Int64 = 0
    public var binned = 0
    /// Values outside the configured range.
    public var outOfRange = 0

    public init() {}

    /// Adds one finite value, binning it by `reference` when the histograms can stay complete
    /// (into its fine bins too when `fineBins`).
    mutating func add(
        _ x: Double, reference: NumericReference?, generation: Int64, range: ClosedRange<Double>?,
        fineBins: Bool = true
    ) {
        if let range, !range.contains(x) { outOfRange += 1 }
        if let reference {
            if histogram == nil, moments.count == 0 {
                histogram = BinnedHistogram(edges: reference.edges)
                fine = fineBins ? reference.fine.map { FineCounts(binCount: $0.binCount) } : nil
                self.generation = generation
            }
            if self.generation == generation, histogram != nil {
                if fine != nil, let layout = reference.fine, let coarse = reference.coarse {
                    let j = layout.bin(of: x)
                    histogram!.add(bin: coarse[j])
                    if !fine!.add(x, bin: j, layout: layout) { fine = nil }
                } else {
                    histogram!.add(x)
                    fine = nil
                }
                binned += 1
            }
        }
        moments.add(x)
        sketch.add(x)
    }

    /// The histogram's counts when they cover every value under the reference `generation`.
    public func binCounts(generation: Int64) -> [Int]? {
        guard let histogram, self.generation == generation, binned == moments.count else { return nil }
        return histogram.counts
    }

    /// The fine counts when they cover every value under the reference `generation`.
    public func fineCounts(generation: Int64) -> FineCounts? {
        guard let fine, self.generation == generation, fine.total == moments.count else { return nil }
        return fine
    }

    public mutating func merge(_ other: NumericAggregate) {
        if other.moments.count > 0 {
            if moments.count == 0 && histogram == nil {
                histogram = other.histogram
                fine = other.fine
                generation = other.generation
                binned = other.binned
            } else if let h = other.histogram, histogram != nil, generation == other.generation,
                histogram!.merge(h)
            {
                binned += other.binned
                if let f = other.fine, fine != nil {
                    if !fine!.merge(f) { fine = nil }
                } else {
                    fine = nil
                }
            } else {
                histogram = nil
                fine = nil
                binned = 0
            }
        }
        moments.merge(other.moments)
        sketch.merge(other.sketch)
        outOfRange += other.outOfRange
    }
}

/// One segment group's custom metrics (prediction and label `metrics`), as moments only: mean,
/// sum and variance per group, no quantiles (a sketch per group and name would cost more than
/// everything else in the bucket). At most `maxNames` names per source.
public struct GroupMetrics: Sendable, Equatable {
    public var prediction: [String: Moments] = [:]
    public var label: [String: Moments] = [:]

    public static let maxNames = 16

    public init() {}

    /// Adds `x` under `name`; false when the name would be one too many.
    mutating func add(_ name: String, _ x: Double, label isLabel: Bool) -> Bool {
        if isLabel {
            guard label[name] != nil || label.count < Self.maxNames else { return false }
            label[name, default: Moments()].add(x)
        } else {
            guard prediction[name] != nil || prediction.count < Self.maxNames else { return false }
            prediction[name, default: Moments()].add(x)
        }
        return true
    }

    mutating func merge(_ other: GroupMetrics) {
        for (name, m) in other.prediction where prediction[name] != nil || prediction.count < Self.maxNames {
            prediction[name, default: Moments()].merge(m)
        }
        for (name, m) in other.label where label[name] != nil || label.count < Self.maxNames {
            label[name, default: Moments()].merge(m)
        }
    }
}

/// A custom metric's aggregates: moments for the mean, a sketch for p50 / p95 / p99.
public struct MetricAggregate: Sendable, Equatable {
    public var moments = Moments()
    public var sketch = QuantileSketch()

    public init() {}

    mutating func add(_ x: Double) {
        moments.add(x)
        sketch.add(x)
    }

    public mutating func merge(_ other: MetricAggregate) {
        moments.merge(other.moments)
        sketch.merge(other.sketch)
    }
}

/// Regression errors: |y − ŷ| and (y − ŷ)² sums, and the labels' moments (for R²'s total sum
/// of squares). All can be taken back exactly, so a replaced label leaves no trace.
public struct RegressionErrors: Sendable, Equatable {
    public var count = 0
    public var absoluteErrorSum = 0.0
    public var squaredErrorSum = 0.0
    public var truth = Moments()

    public init() {}

    mutating func add(truth y: Double, predicted yHat: Double, sign: Int = 1) {
        let e = y - yHat
        count += sign
        absoluteErrorSum += Double(sign) * abs(e)
        squaredErrorSum += Double(sign) * e * e
        if sign > 0 { truth.add(y) } else { truth.remove(y) }
    }

    public mutating func merge(_ other: RegressionErrors) {
        count += other.count
        absoluteErrorSum += other.absoluteErrorSum
        squaredErrorSum += other.squaredErrorSum
        truth.merge(other.truth)
    }

    /// Mean absolute error, as `sklearn.metrics.mean_absolute_error`; `nil` when empty.
    public var meanAbsoluteError: Double? { count > 0 ? absoluteErrorSum / Double(count) : nil }
    /// Root mean squared error; `nil` when empty.
    public var rootMeanSquaredError: Double? { count > 0 ? (squaredErrorSum / Double(count)).squareRoot() : nil }
    /// R² = 1 − SSE/SST as `sklearn.metrics.r2_score` (SST = 0: 1 when SSE = 0, else 0);
    /// `nil` below two labels.
    public var r2: Double? {
        guard count >= 2 else { return nil }
        let sst = truth.m2
        if sst == 0 { return squaredErrorSum == 0 ? 1 : 0 }
        return 1 - squaredErrorSum / sst
    }
}
