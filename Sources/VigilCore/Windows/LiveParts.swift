/// A read of the in-memory partial buckets (see `LiveBuckets.parts`).
public struct LiveParts: Sendable {
    /// The buckets in the span, by identity.
    public var parts: [(id: BucketID, bucket: BucketAggregate)] = []
    /// This writer's bucket ids whose stored copy is stale or being deleted.
    public var superseded: Set<BucketID> = []
    /// Memory holds every bucket of this writer from here on.
    public var memoryFloor: Int64

    public init(memoryFloor: Int64) { self.memoryFloor = memoryFloor }
}
