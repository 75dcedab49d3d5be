import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization
import VigilCore
import VigilStorage

/// The shared event store: one PostgreSQL that several replicas write. Each replica is one
/// writer (`settings.replicaID`): its events are stored with its id, its partial buckets and
/// watermark are its own, and every read merges every writer's partials (`sharesBuckets`).
///
/// Writes go through a group-commit writer on one connection whose transactions run one after
/// another, so this writer's row ids and journal numbers rise in its commit order. A database
/// that cannot be reached answers `503 database_unreachable` with `Retry-After`, and readiness
/// returns by itself once it is back.
public final class PostgresStore: EventStore, StorageHealth, Sendable {
    public let registry: ModelRegistry
    public let settings: PostgresSettings
    let config: VigilConfig
    let logger: Logger
    let clock: any VigilClock
    let context: WriteContext
    /// The writer's connection (only the writer thread uses it).
    let writerLink: PGLink
    /// Start-up loads and reads the fold path makes synchronously.
    let loader: PGLink
    /// Transactions of async callers: flushes, alert state, the outbox, references, retention.
    let maintenance: PGLink
    /// Async reads, spread over `pool_size` connections.
    let readers: [PGLink]
    /// The advisory lock that makes one replica the leader, on a connection of its own.
    public let leadership: any Leadership
    private let nextReader = Atomic<Int>(0)
    /// Model name → row id, this replica's view (models other replicas created are added when seen).
    let modelIDs: Mutex<[String: Int64]>
    private let commits: Mutex<GroupCommitWriter<EventWrite, EventWritten>?> = Mutex(nil)
    let commitSequence = Atomic<Int64>(0)
    let writeCondition = Mutex<StorageUnavailable?>(nil)
    /// The newest row id and journal number this writer is known to have committed and handed
    /// to the engine, and whether a `COMMIT` failed without saying whether it happened (then
    /// the next write first looks for what it may have committed).
    let committed = Mutex<(row: Int64, seq: Int64, ambiguous: Bool)>((0, 0, false))

    public var writer: String { settings.replicaID }

    /// Connects, applies migrations and loads the committed model schemas.
    public static func open(
        settings: PostgresSettings, config: VigilConfig, clock: any VigilClock = SystemClock(), logger: Logger
    ) throws -> PostgresStore {
        let group = MultiThreadedEventLoopGroup.singleton
        func link(_ role: String) -> PGLink { PGLink(settings: settings, role: role, group: group, logger: logger) }
        let loader = link("loader")
        do {
            try PGMigrations.migrate(loader)
        } catch let invalid as PostgresSettings.Invalid {
            loader.close()
            throw invalid
        } catch {
            loader.close()
            throw PostgresSettings.Invalid(
                description: "cannot open the PostgreSQL database \(settings): \(PGFault.describe(error))")
        }
        let (schemas, ids) = try loadSchemas(loader, writer: settings.replicaID, config: config, logger: logger)
        let store = PostgresStore(
            settings: settings, config: config, registry: ModelRegistry(schemas), modelIDs: ids, clock: clock,
            logger: logger, writer: link("writer"), loader: loader, maintenance: link("maintenance"),
            readers: (0..<settings.poolSize).map { link("reader-\($0)") })
        do {
            guard try (store.leadership as? PGLeadership)?.claimIdentity() == true else {
                store.close()
                throw PostgresSettings.Invalid(
                    description:
                        "replica id '\(settings.replicaID)' is in use by another live vigil process on this database; give every replica its own id (storage.postgres.replica_id_env)"
                )
            }
            try store.recoverCommitted()
        } catch let invalid as PostgresSettings.Invalid {
            throw invalid
        } catch {
            store.close()
            throw PostgresSettings.Invalid(
                description: "cannot open the PostgreSQL database \(settings): \(PGFault.describe(error))")
        }
        return store
    }

    /// Every model's schema as `writer` learned it, and its row id: that writer's core (or the
    /// one the model was created with) and entries, with the entries only other writers learned
    /// (so every replica knows every feature, class and group, and keeps counting its own).
    static func loadSchemas(_ link: PGLink, writer: String, config: VigilConfig, logger: Logger, only: [Int64]? = nil)
        throws -> ([ModelSchema], [String: Int64])
    {
        var modelsQuery: PostgresQuery = """
            SELECT m.id, m.name, coalesce(c.schema, m.schema) FROM models m
            LEFT JOIN model_cores c ON c.model_id = m.id AND c.writer = \(writer)
            """
        var entriesQuery: PostgresQuery = """
            SELECT DISTINCT ON (model_id, kind, name, detail) model_id, kind, name, detail, value FROM model_entries
            """
        if let only {
            modelsQuery.sql += " WHERE m.id = ANY($2)"
            modelsQuery.binds.append(only)
            entriesQuery.sql += " WHERE model_id = ANY($1)"
            entriesQuery.binds.append(only)
        }
        entriesQuery.sql += " ORDER BY model_id, kind, name, detail, writer = $\(entriesQuery.binds.count + 1) DESC"
        entriesQuery.binds.append(writer)
        let models = try link.query(modelsQuery).rows
        var entries: [Int64: [SchemaRows.Entry]] = [:]
        for row in try link.query(entriesQuery).rows {
            guard let id = try row.int64(0) else { continue }
            entries[id, default: []].append(
                (try row.int(1) ?? 0, try row.text(2) ?? "", try row.text(3) ?? "", try row.text(4) ?? ""))
        }
        var schemas: [ModelSchema] = []
        var ids: [String: Int64] = [:]
        for row in models {
            guard let id = try row.int64(0), let name = try row.text(1), let core = try row.text(2) else { continue }
            if let schema = SchemaRows.load(core: core, entries: entries[id] ?? []), schema.name == name {
                schemas.append(schema)
            } else {
                logger.error("a model's stored schema does not decode; it is learned afresh", metadata: ["model": "\(name)"])
                schemas.append(ModelSchema(name: name, config: config.model(name)))
            }
            ids[name] = id
        }
        return (schemas, ids)
    }

    private init(
        settings: PostgresSettings, config: VigilConfig, registry: ModelRegistry, modelIDs: [String: Int64],
        clock: any VigilClock, logger: Logger, writer: PGLink, loader: PGLink, maintenance: PGLink, readers: [PGLink]
    ) {
        self.settings = settings
        self.config = config
        self.registry = registry
        self.modelIDs = Mutex(modelIDs)
        self.clock = clock
        self.logger = logger
        writerLink = writer
        self.loader = loader
        self.maintenance = maintenance
        self.readers = readers
        leadership = PGLeadership(
            link: PGLink(settings: settings, role: "leader", group: MultiThreadedEventLoopGroup.singleton, logger: logger),
            replica: settings.replicaID, logger: logger)
        context = WriteContext(config: config, registry: registry, logger: logger)
        let commits = GroupCommitWriter<EventWrite, EventWritten>(maxQueuedItems: config.limits.writeQueueItems) {
            [unowned self] requests in try self.apply(requests)
        }
        self.commits.withLock { $0 = commits }
    }

    /// The next reader connection (round robin).
    var reader: PGLink { readers[nextReader.add(1, ordering: .relaxed).oldValue % readers.count] }

    /// Waits for queued writes to commit, refuses new ones, and closes every connection.
    public func close() {
        let writer = commits.withLock { w -> GroupCommitWriter<EventWrite, EventWritten>? in
            defer { w = nil }
            return w
        }
        writer?.close()
        for link in [writerLink, loader, maintenance] + readers { link.close() }
        (leadership as? PGLeadership)?.close()
    }

    func submit(_ write: EventWrite, weight: Int = 1) async throws -> EventWritten {
        guard let writer = commits.withLock({ $0 }) else {
            throw StorageUnavailable(.shuttingDown, retryAfterSeconds: 5)
        }
        return try await writer.submit(write, weight: weight)
    }

    public var isWritable: Bool { writeCondition.withLock { $0 == nil } }
    public var queuedWrites: Int { commits.withLock { $0 }?.queuedItems ?? 0 }

    /// Records the condition writes fail with (logged once per change).
    func noteCondition(_ condition: StorageUnavailable, error: (any Error)?) {
        let changed = writeCondition.withLock { current -> Bool in
            defer { current = condition }
            return current != condition
        }
        if changed {
            logger.error(
                "storage refuses writes; answering 503 until it recovers",
                metadata: [
                    "reason": "\(condition.reason.rawValue)", "error": "\(error.map(PGFault.describe) ?? "-")",
                ])
        }
    }

    public func ingest(predictions: [Prediction], receivedAt: Int64) async throws -> CommittedBatch {
        guard !predictions.isEmpty else { return CommittedBatch(outcomes: [], events: [], sequence: 0) }
        guard
            case .committed(let batch) = try await submit(
                .predictions(predictions.map(PreparedPrediction.init), receivedAt: receivedAt),
                weight: predictions.count)
        else { preconditionFailure("prediction write answered with another kind") }
        return batch
    }

    public func ingest(labels: [Label], receivedAt: Int64) async throws -> CommittedBatch {
        guard !labels.isEmpty else { return CommittedBatch(outcomes: [], events: [], sequence: 0) }
        guard case .committed(let batch) = try await submit(.labels(labels, receivedAt: receivedAt), weight: labels.count)
        else { preconditionFailure("label write answered with another kind") }
        return batch
    }

    /// Journals and hands on the label changes other replicas left for this one's rows, and
    /// learns the models other replicas created.
    public func sync(at now: Int64) async throws -> CommittedBatch {
        try await learnModels()
        guard case .committed(let batch) = try await submit(.sync(at: now)) else {
            preconditionFailure("sync answered with another kind")
        }
        return batch
    }

    /// Adds the models other replicas created (with their stored schemas) to this replica's view.
    func learnModels() async throws {
        let known = modelIDs.withLock { $0 }
        let rows = try await reader.read("SELECT id, name FROM models").rows
        var fresh: [Int64] = []
        for row in rows {
            guard let id = try row.int64(0), let name = try row.text(1), known[name] == nil else { continue }
            fresh.append(id)
        }
        guard !fresh.isEmpty else { return }
        let (schemas, ids) = try Self.loadSchemas(loader, writer: writer, config: config, logger: logger, only: fresh)
        modelIDs.withLock { $0.merge(ids) { a, _ in a } }
        registry.publish(schemas.filter { registry.schema($0.name) == nil })
    }

    public func expireLabels(at now: Int64) async throws -> Int {
        guard case .expired(let count) = try await submit(.expire(at: now)) else {
            preconditionFailure("expiry answered with another kind")
        }
        return count
    }

    /// Why storage is not ready, or `nil`: the database must answer, and while writes have been
    /// failing a probe write must succeed.
    public func unreadiness(at now: Int64) async -> StorageUnavailable? {
        do {
            try await reader.read("SELECT 1")
        } catch {
            return PGFault.condition(of: error) ?? StorageUnavailable(.unreachable, retryAfterSeconds: 5)
        }
        guard let condition = writeCondition.withLock({ $0 }) else { return nil }
        do {
            _ = try await submit(.probe(at: now))
            return nil
        } catch let failure as StorageUnavailable {
            return failure
        } catch {
            return condition
        }
    }

    /// A model's row id, creating the model through the writer when it has none yet.
    func modelID(_ model: String, at now: Int64) async throws -> Int64 {
        if let id = modelIDs.withLock({ $0[model] }) { return id }
        guard case .modelID(let id) = try await submit(.ensureModel(model, at: now)) else {
            preconditionFailure("model creation answered with another kind")
        }
        return id
    }

    func modelNames() -> [Int64: String] {
        Dictionary(modelIDs.withLock { $0 }.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
    }

    /// A stored prediction row (`ext_id, ts, version, variant, prediction, payload` from `offset`).
    static func prediction(_ row: PGRow, model: String, from offset: Int = 0, features: Bool = true) throws
        -> Prediction?
    {
        guard let id = try row.utf8(offset), let ts = try row.int64(offset + 1), let version = try row.text(offset + 2),
            let output = try row.text(offset + 4), let payload = try row.bytes(offset + 5)
        else { return nil }
        return Prediction.decode(
            id: id, model: model, version: version, variant: try row.text(offset + 3), timestamp: ts, outputText: output,
            payload: payload, features: features)
    }
}

extension PGFault {
    /// An error as a log line: PostgreSQL's message and SQLSTATE (never a query's parameters).
    package static func describe(_ error: any Error) -> String {
        guard let psql = error as? PSQLError else { return "\(error)" }
        if let info = psql.serverInfo {
            return "\(info[.sqlState] ?? "?"): \(info[.message] ?? "")"
        }
        return "\(psql.code)\(psql.underlying.map { ": \($0)" } ?? "")"
    }
}
