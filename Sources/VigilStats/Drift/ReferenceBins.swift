/// Bin layouts derived from a reference sample (DESIGN §4).
public enum ReferenceBins {
    /// The q-quantile of an ascending sample by linear interpolation between order statistics,
    /// h = (n − 1)q, as `numpy.quantile(x, q)` (method "linear"). `nil` for an empty sample.
    public static func quantile(sorted x: [Double], _ q: Double) -> Double? {
        guard !x.isEmpty, q >= 0, q <= 1 else { return nil }
        let h = Double(x.count - 1) * q
        let low = Int(h.rounded(.down))
        let high = Swift.min(low + 1, x.count - 1)
        let t = h - Double(low)
        let a = x[low]
        let b = x[high]
        // numpy's _lerp: from the nearer end, so the result is monotone and exact at t = 1.
        return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t
    }

    /// The distinct deciles (q = 0.1 … 0.9) of a reference sample: the inner edges of the
    /// 10-bin histogram PSI and binned JS distance use. Repeated values collapse (as
    /// `numpy.unique`), so a reference with many ties yields fewer, still strictly ascending,
    /// edges. Non-finite values are ignored; `nil` when nothing finite remains.
    public static func decileEdges(_ reference: [Double]) -> [Double]? {
        let sorted = reference.filter(\.isFinite).sorted()
        guard !sorted.isEmpty else { return nil }
        var edges: [Double] = []
        for i in 1...9 {
            let q = quantile(sorted: sorted, Double(i) / 10)!
            if edges.last.map({ $0 < q }) ?? true { edges.append(q) }
        }
        return edges
    }
}
