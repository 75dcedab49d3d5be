/// One partial bucket as storage holds it: the writer that folded it, its identity and aggregate.
public struct StoredPartial: Sendable {
    public var writer: String
    public var id: BucketID
    public var bucket: BucketAggregate

    public init(writer: String, id: BucketID, bucket: BucketAggregate) {
        self.writer = writer
        self.id = id
        self.bucket = bucket
    }
}
