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
