/// Running count, mean, sum of squared deviations (M2), min, max and missing count.
///
/// `add` is Welford's update; `merge` is Chan et al.'s parallel combination
/// (δ = m_b − m_a; M2 = M2_a + M2_b + δ² n_a n_b / n), so shards merge to the same moments as one
/// pass up to floating-point rounding. Memory: 48 bytes, independent of the count.
public struct Moments: Sendable, Equatable {
    public private(set) var count = 0
    public private(set) var mean = 0.0
    public private(set) var m2 = 0.0
    public private(set) var min = Double.infinity
    public private(set) var max = -Double.infinity
    public private(set) var missing = 0

    public init() {}

    /// Adds one value; non-finite values count as missing.
    public mutating func add(_ x: Double) {
        guard x.isFinite else {
            missing += 1
            return
        }
        count += 1
        let delta = x - mean
        mean += delta / Double(count)
        m2 += delta * (x - mean)
        min = Swift.min(min, x)
        max = Swift.max(max, x)
    }

    /// Takes back one earlier `add(x)` (reverse Welford), for a replaced label. min and max
    /// cannot be taken back and keep the removed value's reach.
    public mutating func remove(_ x: Double) {
        guard x.isFinite, count > 0 else { return }
        guard count > 1 else {
            let missing = self.missing
            self = Moments()
            self.missing = missing
            return
        }
        let previousMean = (Double(count) * mean - x) / Double(count - 1)
        m2 = Swift.max(0, m2 - (x - previousMean) * (x - mean))
        mean = previousMean
        count -= 1
    }

    /// Counts a missing value.
    public mutating func addMissing(_ n: Int = 1) { missing += n }

    /// Combines another shard (Chan et al. 1979).
    public mutating func merge(_ other: Moments) {
        missing += other.missing
        guard other.count > 0 else { return }
        guard count > 0 else {
            let missing = self.missing
            self = other
            self.missing = missing
            return
        }
        let n = count + other.count
        let delta = other.mean - mean
        mean += delta * Double(other.count) / Double(n)
        m2 += other.m2 + delta * delta * Double(count) * Double(other.count) / Double(n)
        count = n
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
    }

    /// Sample variance (ddof 1, as `numpy.var(ddof=1)`); `nil` below two values.
    public var sampleVariance: Double? { count >= 2 ? m2 / Double(count - 1) : nil }

    /// Population variance (ddof 0); `nil` when empty.
    public var populationVariance: Double? { count >= 1 ? m2 / Double(count) : nil }

    /// The mean, or `nil` when empty.
    public var meanValue: Double? { count > 0 ? mean : nil }

    public func encoded() -> [UInt8] {
        var w = BinaryWriter(capacity: 48)
        w.write(count: count)
        w.write(count: missing)
        w.write(double: mean)
        w.write(double: m2)
        w.write(double: min)
        w.write(double: max)
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) -> Moments? {
        var r = BinaryReader(bytes)
        guard let count = r.readVarint(), let missing = r.readVarint(), count <= UInt64(Int.max),
            missing <= UInt64(Int.max),
            let mean = r.readDouble(), let m2 = r.readDouble(), let min = r.readDouble(), let max = r.readDouble(),
            r.isAtEnd
        else { return nil }
        var m = Moments()
        m.count = Int(count)
        m.missing = Int(missing)
        m.mean = mean
        m.m2 = m2
        m.min = min
        m.max = max
        return m
    }
}
