/// Counts over fixed bins given by ascending edges e₁ < … < e_k: k+1 bins
/// (−∞, e₁], (e₁, e₂], …, (e_k, +∞) — the outer bins are open-ended, so values outside the
/// reference's range are never lost. With the reference's deciles as edges this is the 10-bin
/// layout PSI and binned JS distance use (DESIGN §4). Bins are right-closed, as
/// `numpy.searchsorted(edges, x, side="left")` assigns them.
///
/// Mergeable exactly (counts add) between histograms with the same edges. Memory: 8 bytes per
/// edge plus 8 per bin.
public struct BinnedHistogram: Sendable, Equatable {
    public let edges: [Double]
    public private(set) var counts: [Int]
    /// Non-finite or missing values, kept apart from the bins.
    public private(set) var missing = 0

    /// Creates an empty histogram; `nil` unless the edges are finite and strictly ascending.
    public init?(edges: [Double]) {
        guard edges.allSatisfy(\.isFinite), zip(edges, edges.dropFirst()).allSatisfy({ $0 < $1 }) else { return nil }
        self.edges = edges
        self.counts = Array(repeating: 0, count: edges.count + 1)
    }

    /// The bin of `x`: the number of edges strictly below it.
    public func bin(of x: Double) -> Int { Self.bin(of: x, edges: edges) }

    /// The number of `edges` (ascending) strictly below `x`: its right-closed bin.
    public static func bin(of x: Double, edges: [Double]) -> Int {
        var low = 0
        var high = edges.count
        while low < high {
            let mid = (low + high) / 2
            if edges[mid] < x { low = mid + 1 } else { high = mid }
        }
        return low
    }

    public mutating func add(_ x: Double) {
        guard x.isFinite else {
            missing += 1
            return
        }
        counts[bin(of: x)] += 1
    }

    /// Counts one value whose bin is known (`bin(of:)`, or a finer layout's table).
    public mutating func add(bin: Int) { counts[bin] += 1 }

    public mutating func addMissing(_ n: Int = 1) { missing += n }

    /// Adds another histogram's counts; `false` (and no change) when the edges differ.
    @discardableResult
    public mutating func merge(_ other: BinnedHistogram) -> Bool {
        guard other.edges == edges else { return false }
        for i in counts.indices { counts[i] += other.counts[i] }
        missing += other.missing
        return true
    }

    /// Values in bins.
    public var total: Int { counts.reduce(0, +) }

    public func encoded() -> [UInt8] {
        var w = BinaryWriter(capacity: 16 * edges.count + 16)
        w.write(count: edges.count)
        for e in edges { w.write(double: e) }
        for c in counts { w.write(count: c) }
        w.write(count: missing)
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) -> BinnedHistogram? {
        var r = BinaryReader(bytes)
        guard let n = r.readVarint(), n <= UInt64(bytes.count) else { return nil }
        var edges: [Double] = []
        for _ in 0..<n {
            guard let e = r.readDouble() else { return nil }
            edges.append(e)
        }
        guard var h = BinnedHistogram(edges: edges) else { return nil }
        for i in h.counts.indices {
            guard let c = r.readVarint(), c <= UInt64(Int.max / 2) else { return nil }
            h.counts[i] = Int(c)
        }
        guard let missing = r.readVarint(), missing <= UInt64(Int.max / 2), r.isAtEnd else { return nil }
        h.missing = Int(missing)
        return h
    }
}
