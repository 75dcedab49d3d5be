/// What a flush writes of one writer's partial buckets: changed buckets, rolled-up minute
/// buckets to delete, and the watermark the written buckets include.
public struct PartialFlush: Sendable {
    public var upserts: [(id: BucketID, bytes: [UInt8], predictions: Int)]
    public var deletes: [BucketID]
    public var watermark: FoldWatermark
    public var isEmpty: Bool { upserts.isEmpty && deletes.isEmpty }

    public init(upserts: [(id: BucketID, bytes: [UInt8], predictions: Int)], deletes: [BucketID], watermark: FoldWatermark) {
        self.upserts = upserts
        self.deletes = deletes
        self.watermark = watermark
    }
}
