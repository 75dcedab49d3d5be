/// Durable partial buckets, keyed by the writer that folded them. Every writer flushes only its
/// own partials and watermark; any reader merges the partials of every writer.
public protocol BucketStore: Sendable {
    /// This process's writer id.
    var writer: String { get }
    /// Whether other writers flush partials here too (then every read merges theirs).
    var sharesBuckets: Bool { get }
    /// This writer's stored partials (every minute bucket, hour buckets from `hoursSince`) and
    /// its watermark.
    func loadPartials(hoursSince: Int64) throws -> (buckets: [(BucketID, BucketAggregate)], watermark: FoldWatermark)
    /// One of this writer's stored partials (for a late label on a bucket no longer in memory).
    func loadBucket(_ id: BucketID) -> BucketLoad
    /// Writes a flush of this writer's partials and watermark in one transaction.
    func write(_ flush: PartialFlush) async throws
    /// Every writer's partials of a model starting in [from, to].
    func partials(model: String, from: Int64, to: Int64) async throws -> [StoredPartial]
    /// Deletes hour partials that started before `before` (aggregate retention); returns how many.
    func deleteBuckets(before: Int64) async throws -> Int
    /// Every series any writer has stored partials of.
    func storedSeries() async throws -> [SeriesKey]
}

extension BucketStore {
    /// One writer's series are those it holds in memory.
    public func storedSeries() async throws -> [SeriesKey] { [] }
}
