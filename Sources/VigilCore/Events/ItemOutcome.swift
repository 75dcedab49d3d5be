/// What became of one ingested item.
public enum ItemOutcome: Sendable, Equatable {
    /// Stored (for a label: joined, held for its prediction, or replacing an earlier label).
    case accepted
    /// Already stored: a retry, counted and otherwise ignored.
    case duplicate
    /// Not stored: a bound (`limits.*`) refused it.
    case rejected(RejectReason, String)
}
