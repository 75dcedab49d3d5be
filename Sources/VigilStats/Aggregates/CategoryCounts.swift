/// Counts per category, bounded to `capacity` distinct categories.
///
/// Exact while at most `capacity` distinct categories are seen (the usual case: reference
/// categories plus a few new ones). Past that it becomes a Misra–Gries summary, which stays
/// mergeable (Agarwal et al., "Mergeable Summaries", 2012): after each add or merge that leaves
/// more than `capacity` entries, the (capacity+1)-th largest count is subtracted from every entry,
/// non-positive entries are dropped, and the removed mass goes to `other`. Each kept count then
/// underestimates its true count by at most `other / (capacity + 1)`, and a category with true
/// frequency above `total / (capacity + 1)` is always kept. Memory: at most `capacity` entries.
public struct CategoryCounts: Sendable, Equatable {
    public let capacity: Int
    public private(set) var counts: [String: Int] = [:]
    /// Mass removed by the summary (0 while exact).
    public private(set) var other = 0
    public private(set) var missing = 0

    public init(capacity: Int = 256) {
        precondition(capacity > 0, "capacity must be positive")
        self.capacity = capacity
    }

    /// Whether every count is exact.
    public var isExact: Bool { other == 0 }

    /// Values counted, including those folded into `other`.
    public var total: Int { counts.values.reduce(other, +) }

    public mutating func add(_ category: String, count: Int = 1) {
        counts[category, default: 0] += count
        if counts.count > capacity { shrink() }
    }

    public mutating func addMissing(_ n: Int = 1) { missing += n }

    public mutating func merge(_ other: CategoryCounts) {
        for (category, count) in other.counts { counts[category, default: 0] += count }
        self.other += other.other
        missing += other.missing
        if counts.count > capacity { shrink() }
    }

    private mutating func shrink() {
        let sorted = counts.values.sorted(by: >)
        let cut = sorted[capacity]
        var removed = 0
        for (category, count) in counts {
            let kept = count - cut
            removed += count - Swift.max(kept, 0)
            counts[category] = kept > 0 ? kept : nil
        }
        other += removed
    }

    public func encoded() -> [UInt8] {
        var w = BinaryWriter()
        w.write(count: capacity)
        w.write(count: other)
        w.write(count: missing)
        w.write(count: counts.count)
        for (category, count) in counts.sorted(by: { $0.key < $1.key }) {
            w.write(string: category)
            w.write(count: count)
        }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) -> CategoryCounts? {
        var r = BinaryReader(bytes)
        guard let capacity = r.readVarint(), capacity > 0, capacity <= 1 << 20, let other = r.readVarint(),
            let missing = r.readVarint(), let n = r.readVarint(), n <= capacity, other <= UInt64(Int.max / 2),
            missing <= UInt64(Int.max / 2)
        else { return nil }
        var c = CategoryCounts(capacity: Int(capacity))
        for _ in 0..<n {
            guard let category = r.readString(), let count = r.readVarint(), count > 0, count <= UInt64(Int.max / 2)
            else { return nil }
            c.counts[category] = Int(count)
        }
        c.other = Int(other)
        c.missing = Int(missing)
        return r.isAtEnd ? c : nil
    }
}
