import Dispatch
import Foundation
import GRDB
import Logging
import Synchronization
import VigilCore

/// The embedded event store: one SQLite file in WAL mode. Writes go through a group-commit
/// writer; reads use GRDB's reader pool and never wait for writes.
public final class SQLiteStore: EventStore, Sendable {
    /// A prediction with its stored columns encoded in the request's task, off the single writer thread.
    struct PreparedPrediction: Sendable {
        var prediction: Prediction
        var outputText: String
        var payload: Data

        init(_ prediction: Prediction) {
            self.prediction = prediction
            outputText = prediction.outputText
            payload = Data(prediction.encodedPayload())
        }
    }

    enum Write: Sendable {
        case predictions([PreparedPrediction], receivedAt: Int64)
        case labels([Label], receivedAt: Int64)
        case expire(at: Int64)
        case ensureModel(String, at: Int64)
    }

    enum Written: Sendable {
        case outcomes([ItemOutcome])
        case expired(Int)
        case modelID(Int64)
    }

    public let registry: ModelRegistry
    let pool: DatabasePool
    let config: VigilConfig
    let logger: Logger
    /// Model name → row id; only the writer thread adds, after the commit that inserted it.
    let modelIDs: Mutex<[String: Int64]>
    private let writer: Mutex<GroupCommitWriter<Write, Written>?> = Mutex(nil)
    /// Receives committed events in commit order, on `foldQueue` (off the writer thread).
    let foldSink: Mutex<(@Sendable ([FoldEvent]) -> Void)?> = Mutex(nil)
    let foldQueue = DispatchQueue(label: "vigil.storage.fold", qos: .userInitiated)

    /// Opens (creating if needed) the database at `path`, applies migrations and loads the
    /// committed model schemas.
    public static func open(path: String, config: VigilConfig, logger: Logger) throws -> SQLiteStore {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = "vigil"
        let pool = try DatabasePool(path: path, configuration: configuration)
        // DatabasePool sets synchronous=NORMAL on open (durable across process crashes in WAL);
        // FULL, for power-loss durability, has to be set on the writer afterwards.
        if config.storage.synchronous == .full {
            try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
        }
        try Migrations.migrator.migrate(pool)
        let rows = try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, name, schema FROM models")
        }
        var schemas: [ModelSchema] = []
        var ids: [String: Int64] = [:]
        let decoder = JSONDecoder()
        for row in rows {
            let name: String = row["name"]
            let json: String = row["schema"]
            guard let schema = try? decoder.decode(ModelSchema.self, from: Data(json.utf8)) else {
                throw StorageError.corruptRecord("schema of model '\(name)'")
            }
            schemas.append(schema)
            ids[name] = row["id"]
        }
        return SQLiteStore(pool: pool, config: config, registry: ModelRegistry(schemas), modelIDs: ids, logger: logger)
    }

    private init(
        pool: DatabasePool, config: VigilConfig, registry: ModelRegistry, modelIDs: [String: Int64], logger: Logger
    ) {
        self.pool = pool
        self.config = config
        self.registry = registry
        self.modelIDs = Mutex(modelIDs)
        self.logger = logger
        let writer = GroupCommitWriter<Write, Written> { [unowned self] requests in
            try self.apply(requests)
        }
        self.writer.withLock { $0 = writer }
    }

    /// Waits for queued writes to commit, refuses new ones, and checkpoints the WAL.
    public func close() {
        let writer = self.writer.withLock { w -> GroupCommitWriter<Write, Written>? in
            defer { w = nil }
            return w
        }
        writer?.close()
        do {
            _ = try pool.writeWithoutTransaction { try $0.checkpoint(.truncate) }
        } catch {
            logger.warning("WAL checkpoint on close failed", metadata: ["error": "\(error)"])
        }
    }

    func submit(_ write: Write) async throws -> Written {
        guard let writer = self.writer.withLock({ $0 }) else { throw StorageError.closed }
        return try await writer.submit(write)
    }

    public func ingest(predictions: [Prediction], receivedAt: Int64) async throws -> [ItemOutcome] {
        guard !predictions.isEmpty else { return [] }
        guard
            case .outcomes(let outcomes) = try await submit(
                .predictions(predictions.map(PreparedPrediction.init), receivedAt: receivedAt))
        else {
            preconditionFailure("prediction write answered with another kind")
        }
        return outcomes
    }

    public func ingest(labels: [Label], receivedAt: Int64) async throws -> [ItemOutcome] {
        guard !labels.isEmpty else { return [] }
        guard case .outcomes(let outcomes) = try await submit(.labels(labels, receivedAt: receivedAt)) else {
            preconditionFailure("label write answered with another kind")
        }
        return outcomes
    }

    public func expireLabels(at now: Int64) async throws -> Int {
        guard case .expired(let count) = try await submit(.expire(at: now)) else {
            preconditionFailure("expiry answered with another kind")
        }
        return count
    }

    /// Whether the database answers a trivial query (readiness).
    public func isHealthy() async -> Bool {
        (try? await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }
}
