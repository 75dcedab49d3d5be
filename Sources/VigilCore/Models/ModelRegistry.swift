import Synchronization

/// The committed schemas of every model, readable from any task. Only the storage writer
/// publishes, after the transaction that changed them commits, so readers never see state
/// that a crash could take back.
public final class ModelRegistry: Sendable {
    private let schemas: Mutex<[String: ModelSchema]>

    public init(_ initial: [ModelSchema] = []) {
        schemas = Mutex(Dictionary(initial.map { ($0.name, $0) }, uniquingKeysWith: { _, b in b }))
    }

    /// Every model's schema.
    public func snapshot() -> [String: ModelSchema] { schemas.withLock { $0 } }

    /// One model's schema, if it has been seen.
    public func schema(_ model: String) -> ModelSchema? { schemas.withLock { $0[model] } }

    /// Replaces the schemas of the given models (called by the writer after a commit).
    public func publish(_ updated: some Sequence<ModelSchema>) {
        schemas.withLock { all in
            for schema in updated { all[schema.name] = schema }
        }
    }
}

/// What became of one ingested item.
public enum ItemOutcome: Sendable, Equatable {
    /// Stored (for a label: joined, held for its prediction, or replacing an earlier label).
    case accepted
    /// Already stored: a retry, counted and otherwise ignored.
    case duplicate
    /// Not stored: a bound (`limits.*`) refused it.
    case rejected(RejectReason, String)
}

/// Durable storage of events. `ingest` returns only after the items are committed.
public protocol EventStore: Sendable {
    /// The committed schemas, updated by every commit.
    var registry: ModelRegistry { get }
    /// Stores predictions (duplicates of stored `(model, id)` are no-ops), joining held labels.
    func ingest(predictions: [Prediction], receivedAt: Int64) async throws -> [ItemOutcome]
    /// Stores labels: joined to their prediction, or held until it arrives or `label_ttl` passes.
    func ingest(labels: [Label], receivedAt: Int64) async throws -> [ItemOutcome]
    /// Drops held labels older than their model's `label_ttl`; returns how many.
    func expireLabels(at now: Int64) async throws -> Int
}
