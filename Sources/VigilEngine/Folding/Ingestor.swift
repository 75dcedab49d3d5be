import VigilCore

/// The ingest path as the HTTP layer sees it: store events, answer per item.
package protocol Ingesting: Sendable {
    /// Stores predictions; returns once they are committed, an outcome per item.
    func ingest(predictions: [Prediction], receivedAt: Int64) async throws -> [ItemOutcome]
    /// Stores labels; returns once they are committed, an outcome per item.
    func ingest(labels: [Label], receivedAt: Int64) async throws -> [ItemOutcome]
    /// Returns once every event acknowledged so far is in the live buckets.
    func settled() async
}

/// Stores events through the event store and hands what it committed to the fold queue.
package struct Ingestor: Ingesting {
    let events: any EventStore
    let folds: FoldQueue

    package init(events: any EventStore, folds: FoldQueue) {
        self.events = events
        self.folds = folds
    }

    package func ingest(predictions: [Prediction], receivedAt: Int64) async throws -> [ItemOutcome] {
        guard !predictions.isEmpty else { return [] }
        try folds.admit()
        let batch = try await events.ingest(predictions: predictions, receivedAt: receivedAt)
        folds.enqueue(batch)
        return batch.outcomes
    }

    package func ingest(labels: [Label], receivedAt: Int64) async throws -> [ItemOutcome] {
        guard !labels.isEmpty else { return [] }
        try folds.admit()
        let batch = try await events.ingest(labels: labels, receivedAt: receivedAt)
        folds.enqueue(batch)
        return batch.outcomes
    }

    package func settled() async { await folds.settled() }
}
