import Dispatch
import Foundation
import GRDB
import Logging
import Synchronization
import VigilCore

/// The embedded event store: one SQLite file in WAL mode. Writes go through a group-commit
/// writer; reads use GRDB's reader pool and never wait for writes.
public final class SQLiteStore: EventStore, StorageHealth, Sendable {
    /// The id of the one writer of a SQLite file.
    public static let localWriter = "local"

    typealias Write = EventWrite
    typealias Written = EventWritten

    public let registry: ModelRegistry
    let pool: DatabasePool
    let config: VigilConfig
    let logger: Logger
    /// The directory holding the database file (for free space and read-only checks).
    let directory: String
    /// What the writer's sessions read of the store.
    let context: WriteContext
    /// Model name → row id; only the writer thread adds, after the commit that inserted it.
    let modelIDs: Mutex<[String: Int64]>
    private let commits: Mutex<GroupCommitWriter<Write, Written>?> = Mutex(nil)
    /// The last commit sequence handed to an ingest write (only the writer thread advances it).
    let commitSequence = Atomic<Int64>(0)
    /// Time for quarantine records.
    let clock: any VigilClock
    /// The condition the last write failed with; `nil` while writes succeed.
    let writeCondition = Mutex<StorageUnavailable?>(nil)

    /// Opens (creating if needed) the database at `path`, applies migrations and loads the
    /// committed model schemas.
    public static func open(
        path: String, config: VigilConfig, clock: any VigilClock = SystemClock(), logger: Logger
    ) throws -> SQLiteStore {
        var configuration = Configuration()
        configuration.busyMode = .timeout(Double(config.storage.busyTimeout.millis) / 1000)
        configuration.label = "vigil"
        let pool = try DatabasePool(path: path, configuration: configuration)
        // DatabasePool sets synchronous=NORMAL on open (durable across process crashes in WAL);
        // FULL, for power-loss durability, has to be set on the writer afterwards.
        if config.storage.synchronous == .full {
            try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
        }
        try Migrations.migrator.migrate(pool)
        let (rows, entries) = try pool.read { db in
            (
                try Row.fetchAll(db, sql: "SELECT id, name, schema FROM models"),
                Dictionary(
                    grouping: try Row.fetchAll(
                        db, sql: "SELECT model_id, kind, name, detail, value FROM model_entries ORDER BY model_id"),
                    by: { $0["model_id"] as Int64 })
            )
        }
        var schemas: [ModelSchema] = []
        var ids: [String: Int64] = [:]
        var unreadable: [UnreadableRow] = []
        for row in rows {
            let name: String = row["name"]
            let json: String = row["schema"]
            let id: Int64 = row["id"]
            if let schema = SchemaRows.load(core: json, entries: entries[id] ?? []), schema.name == name {
                schemas.append(schema)
            } else {
                // The model keeps its events; its learned schema starts afresh (the old one is kept aside).
                schemas.append(ModelSchema(name: name, config: config.model(name)))
                unreadable.append(
                    UnreadableRow(source: "models", key: name, reason: "schema does not decode", data: Data(json.utf8)))
            }
            ids[name] = row["id"]
        }
        let store = SQLiteStore(
            pool: pool, path: path, config: config, registry: ModelRegistry(schemas), modelIDs: ids, clock: clock,
            logger: logger)
        store.quarantine(unreadable)
        return store
    }

    private init(
        pool: DatabasePool, path: String, config: VigilConfig, registry: ModelRegistry, modelIDs: [String: Int64],
        clock: any VigilClock, logger: Logger
    ) {
        self.clock = clock
        self.pool = pool
        self.config = config
        self.registry = registry
        self.modelIDs = Mutex(modelIDs)
        self.logger = logger
        directory = DiskSpace.directory(of: path)
        context = WriteContext(config: config, registry: registry, logger: logger)
        let writer = GroupCommitWriter<Write, Written>(maxQueuedItems: config.limits.writeQueueItems) {
            [unowned self] requests in try self.apply(requests)
        }
        self.commits.withLock { $0 = writer }
    }

    /// Waits for queued writes to commit, refuses new ones, and checkpoints the WAL.
    public func close() {
        let writer = self.commits.withLock { w -> GroupCommitWriter<Write, Written>? in
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

    func submit(_ write: Write, weight: Int = 1) async throws -> Written {
        guard let writer = self.commits.withLock({ $0 }) else {
            throw StorageUnavailable(.shuttingDown, retryAfterSeconds: 5)
        }
        return try await writer.submit(write, weight: weight)
    }

    /// The condition of the database's filesystem: read-only, or less free space than
    /// `storage.min_free_bytes` (writes stop before the disk is full, leaving room for the
    /// checkpoint, bucket flushes and alert state); `nil` when writes may proceed.
    func diskCondition() -> StorageUnavailable? {
        guard let disk = DiskSpace.of(directory: directory) else { return nil }
        if disk.readOnly { return StorageUnavailable(.readOnly, retryAfterSeconds: 30) }
        if disk.availableBytes < config.storage.minFreeBytes { return StorageUnavailable(.diskFull, retryAfterSeconds: 30) }
        return nil
    }

    /// Refuses new events while the disk is read-only or short of `storage.min_free_bytes`.
    func admitWrites() throws {
        if let condition = diskCondition() {
            noteCondition(condition, error: nil)
            throw condition
        }
    }

    /// Records the condition writes fail with (logged once per change).
    func noteCondition(_ condition: StorageUnavailable, error: (any Error)?) {
        let changed = writeCondition.withLock { current -> Bool in
            defer { current = condition }
            return current != condition
        }
        if changed {
            logger.error(
                "storage refuses writes; answering 503 until it recovers",
                metadata: ["reason": "\(condition.reason.rawValue)", "error": "\(error.map { "\($0)" } ?? "-")"])
        }
    }

    /// Whether the last write succeeded (storage takes writes).
    public var isWritable: Bool { writeCondition.withLock { $0 == nil } }

    /// Items waiting for the writer (a gauge).
    public var queuedWrites: Int { commits.withLock { $0 }?.queuedItems ?? 0 }

    /// Stores predictions; an empty list commits nothing and takes no place in the commit order.
    public func ingest(predictions: [Prediction], receivedAt: Int64) async throws -> CommittedBatch {
        guard !predictions.isEmpty else { return CommittedBatch(outcomes: [], events: [], sequence: 0) }
        try admitWrites()
        guard
            case .committed(let batch) = try await submit(
                .predictions(predictions.map(PreparedPrediction.init), receivedAt: receivedAt),
                weight: predictions.count)
        else {
            preconditionFailure("prediction write answered with another kind")
        }
        return batch
    }

    /// Stores labels; an empty list commits nothing and takes no place in the commit order.
    public func ingest(labels: [Label], receivedAt: Int64) async throws -> CommittedBatch {
        guard !labels.isEmpty else { return CommittedBatch(outcomes: [], events: [], sequence: 0) }
        try admitWrites()
        guard case .committed(let batch) = try await submit(.labels(labels, receivedAt: receivedAt), weight: labels.count)
        else {
            preconditionFailure("label write answered with another kind")
        }
        return batch
    }

    public func expireLabels(at now: Int64) async throws -> Int {
        guard case .expired(let count) = try await submit(.expire(at: now)) else {
            preconditionFailure("expiry answered with another kind")
        }
        return count
    }

    /// Why storage is not ready, or `nil` when it is: the database must answer a query, and
    /// while writes have been failing a probe write must succeed (so readiness comes back by
    /// itself once the disk has room, the file is writable or the lock is gone).
    public func unreadiness(at now: Int64) async -> StorageUnavailable? {
        guard (try? await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1 else {
            return StorageUnavailable(.ioError, retryAfterSeconds: 5)
        }
        if let condition = diskCondition() {
            noteCondition(condition, error: nil)
            return condition
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

    /// The condition behind a SQLite error that a client can wait out (disk full, read-only,
    /// locked, I/O), with how long to wait; `nil` for any other error.
    func condition(of error: any Error) -> StorageUnavailable? {
        guard let error = error as? DatabaseError else { return nil }
        switch error.resultCode {
        case .SQLITE_IOERR, .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM:
            if DiskSpace.of(directory: directory)?.readOnly == true || DiskSpace.refusesWrites(directory: directory) {
                return StorageUnavailable(.readOnly, retryAfterSeconds: 30)
            }
        default: break
        }
        switch error.resultCode {
        case .SQLITE_FULL: return StorageUnavailable(.diskFull, retryAfterSeconds: 30)
        case .SQLITE_READONLY, .SQLITE_PERM: return StorageUnavailable(.readOnly, retryAfterSeconds: 30)
        case .SQLITE_BUSY, .SQLITE_LOCKED: return StorageUnavailable(.locked, retryAfterSeconds: 1)
        case .SQLITE_IOERR, .SQLITE_CANTOPEN: return StorageUnavailable(.ioError, retryAfterSeconds: 5)
        default: return nil
        }
    }
}
