/// A stored bucket read back for a late event.
public enum BucketLoad: Sendable {
    case found(BucketAggregate)
    /// Storage has no such bucket.
    case absent
    /// Storage could not be read: the bucket exists or not, nobody knows.
    case unavailable
}
