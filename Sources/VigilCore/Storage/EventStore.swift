/// A stored prediction with its label, if it has one (reference rows).
public typealias ReferenceRow = (prediction: Prediction, label: OutputValue?)

/// A shadow prediction, the live prediction of the same id, and the label they share.
public struct ShadowPair: Sendable {
    public var live: Prediction
    public var shadow: Prediction
    public var label: OutputValue?
    public init(live: Prediction, shadow: Prediction, label: OutputValue?) {
        self.live = live
        self.shadow = shadow
        self.label = label
    }
}

/// Durable storage of events and the label join. `ingest` returns only after the items are
/// committed, with the events the aggregates must fold; the store knows nothing of folding.
public protocol EventStore: Sendable {
    /// The committed schemas, updated by every commit.
    var registry: ModelRegistry { get }
    /// Stores predictions (duplicates of stored `(model, id)` are no-ops; a shadow is stored
    /// beside its live prediction), joining held labels.
    func ingest(predictions: [Prediction], receivedAt: Int64) async throws -> CommittedBatch
    /// Stores labels: joined to their predictions (live and shadow), or held until one arrives
    /// or `label_ttl` passes.
    func ingest(labels: [Label], receivedAt: Int64) async throws -> CommittedBatch
    /// Drops held labels older than their model's `label_ttl`; returns how many.
    func expireLabels(at now: Int64) async throws -> Int
    /// Hands the events committed after `watermark` to `sink` in commit order, `batchSize` at a time.
    func replay(after watermark: FoldWatermark, batchSize: Int, into sink: ([CommittedEvent]) -> Void) throws
        -> (predictions: Int, labels: Int)
    /// Stored live predictions with their labels, in arrival order: the first `limit` of a model,
    /// or those with event time in [from, to] (and `version`, if given).
    func referenceRows(model: String, from: Int64?, to: Int64?, version: String?, limit: Int) async throws
        -> [ReferenceRow]
    /// Shadow predictions with event time in [from, to] beside the live predictions of the same
    /// ids, with their shared label; at most `limit` pairs, oldest first.
    func shadowPairs(model: String, from: Int64, to: Int64, limit: Int) async throws -> [ShadowPair]
    /// Deletes predictions with event time before `before` (event retention); returns how many.
    func deleteEvents(before: Int64) async throws -> Int
    /// Takes on what other writers of shared storage left for this one (label changes of its
    /// predictions, models they created), as a batch to fold like an ingest write's.
    func sync(at now: Int64) async throws -> CommittedBatch
}

extension EventStore {
    /// One writer alone has nothing to take on.
    public func sync(at now: Int64) async throws -> CommittedBatch {
        CommittedBatch(outcomes: [], events: [], sequence: 0)
    }
}
