/// What one ingest write committed: an outcome per item, the events the aggregates must fold,
/// and the write's place in its writer's commit order (1, 2, 3, … from the store's opening), so
/// the engine folds batches in commit order however their requests resume.
public struct CommittedBatch: Sendable {
    public var outcomes: [ItemOutcome]
    public var events: [CommittedEvent]
    public var sequence: Int64

    public init(outcomes: [ItemOutcome], events: [CommittedEvent], sequence: Int64) {
        self.outcomes = outcomes
        self.events = events
        self.sequence = sequence
    }
}
