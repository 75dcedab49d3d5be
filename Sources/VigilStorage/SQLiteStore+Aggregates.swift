import Foundation
import GRDB
import VigilCore

// The storage side of the window engine: committed events handed to the aggregates in commit
// order, bucket flushes with their watermarks, replay after a restart, and reference profiles.

extension SQLiteStore {
    /// Sets the receiver of committed events (the aggregate book), before any ingestion.
    public func setFoldSink(_ sink: @escaping @Sendable ([FoldEvent]) -> Void) {
        foldSink.withLock { $0 = sink }
    }

    /// Called on the writer thread after a commit: queues the events, keeping commit order.
    func publish(folds: [FoldEvent]) {
        guard let sink = foldSink.withLock({ $0 }) else { return }
        let count = folds.count
        pendingFolds.add(count, ordering: .relaxed)
        foldQueue.async { [self] in
            sink(folds)
            self.pendingFolds.subtract(count, ordering: .relaxed)
        }
    }

    /// Returns once every event committed so far has been folded.
    public func foldsSettled() async {
        await withCheckedContinuation { continuation in
            foldQueue.async { continuation.resume() }
        }
    }

    // MARK: - Start-up

    /// The stored buckets (every minute bucket, hour buckets from `hoursSince`) and watermarks.
    public func loadAggregates(hoursSince: Int64) throws -> (
        buckets: [(BucketID, BucketAggregate)], predictionWatermark: Int64, labelWatermark: Int64
    ) {
        let names = modelNames()
        let (loaded, unreadable) = try pool.read { db in
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT model_id, version, variant, resolution, start, data FROM buckets
                    WHERE resolution = 1 OR start >= ?
                    """, arguments: [hoursSince])
            var buckets: [(BucketID, BucketAggregate)] = []
            var unreadable: [UnreadableRow] = []
            while let row = try rows.next() {
                guard let id = Self.bucketID(row, names), let bucket = Self.bucket(row) else {
                    // One bad row must not stop start-up: move it aside, rebuild from what follows.
                    unreadable.append(Self.unreadableBucket(row, reason: "bucket does not decode"))
                    continue
                }
                buckets.append((id, bucket))
            }
            let state = try Row.fetchOne(db, sql: "SELECT prediction_watermark, label_watermark FROM aggregate_state")
            let predictions: Int64 = state?["prediction_watermark"] ?? 0
            let labels: Int64 = state?["label_watermark"] ?? 0
            return ((buckets: buckets, predictionWatermark: predictions, labelWatermark: labels), unreadable)
        }
        quarantine(unreadable)
        return loaded
    }

    /// Folds the events committed after the watermarks (the tail a crash kept out of the stored
    /// buckets) through `sink`, in commit order, `batchSize` at a time.
    public func replay(
        predictionsAfter: Int64, labelsAfter: Int64, batchSize: Int = 10_000,
        into sink: ([FoldEvent]) -> Void
    ) throws -> (predictions: Int, labels: Int) {
        let names = modelNames()
        var counts = (predictions: 0, labels: 0)
        var after = predictionsAfter
        while true {
            let events = try pool.read { db in
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT rowid, model_id, ext_id, ts, version, variant, prediction, payload FROM predictions
                        WHERE rowid > ? ORDER BY rowid LIMIT ?
                        """, arguments: [after, batchSize])
                return rows.map { row -> (rowID: Int64, event: FoldEvent?) in
                    let rowID: Int64 = row["rowid"]
                    return (rowID, Self.prediction(row, names).map { .prediction(admitted($0), rowID: rowID) })
                }
            }
            guard let last = events.last?.rowID else { break }
            let folds = events.compactMap(\.event)
            sink(folds)
            counts.predictions += folds.count
            // Rows that do not decode are copied aside (and kept in `predictions`).
            quarantine(
                events.filter { $0.event == nil }.map {
                    UnreadableRow(source: "predictions", key: "\($0.rowID)", reason: "prediction does not decode")
                })
            after = last
        }
        after = labelsAfter
        while true {
            let events = try pool.read { db in
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT j.seq, j.model_id, j.ext_id, j.label AS new_label, j.label_kind AS new_kind, j.metrics,
                               j.old_present, j.old_label, j.old_kind, j.old_metrics, j.fold, j.old_fold,
                               p.ts, p.version, p.variant, p.prediction, p.payload
                        FROM label_journal j JOIN predictions p ON p.model_id = j.model_id AND p.ext_id = j.ext_id
                        WHERE j.seq > ? ORDER BY j.seq LIMIT ?
                        """, arguments: [after, batchSize])
                return rows.map { row -> (seq: Int64, event: FoldEvent?) in (row["seq"], labelEvent(row, names)) }
            }
            guard let last = events.last?.seq else { break }
            let folds = events.compactMap(\.event)
            sink(folds)
            counts.labels += folds.count
            quarantine(
                events.filter { $0.event == nil }.map {
                    UnreadableRow(source: "label_journal", key: "\($0.seq)", reason: "journal entry does not decode")
                })
            after = last
        }
        return counts
    }

    // MARK: - Flushing

    /// Writes a flush in one transaction: buckets, deletions of rolled-up minute buckets, the
    /// watermarks, and the label journal entries the buckets now include.
    public func flush(_ batch: FlushBatch) async throws {
        let ids = modelIDs.withLock { $0 }
        try await pool.write { db in
            let upsert = try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO buckets (model_id, version, variant, resolution, start, predictions, data)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """)
            for u in batch.upserts {
                guard let model = ids[u.id.series.model] else { continue }
                try upsert.execute(arguments: [
                    model, u.id.series.version, u.id.series.variant, u.id.resolution.rawValue, u.id.start,
                    u.predictions, Data(u.bytes),
                ])
            }
            let delete = try db.cachedStatement(
                sql: """
                    DELETE FROM buckets WHERE model_id = ? AND version = ? AND variant = ? AND resolution = ? AND start = ?
                    """)
            for d in batch.deletes {
                guard let model = ids[d.series.model] else { continue }
                try delete.execute(arguments: [
                    model, d.series.version, d.series.variant, d.resolution.rawValue, d.start,
                ])
            }
            try db.execute(
                sql: "UPDATE aggregate_state SET prediction_watermark = ?, label_watermark = ?",
                arguments: [batch.predictionWatermark, batch.labelWatermark])
            try db.execute(sql: "DELETE FROM label_journal WHERE seq <= ?", arguments: [batch.labelWatermark])
        }
    }

    /// Deletes hour buckets that started before `before` (aggregate retention); returns how many.
    public func deleteBuckets(before: Int64) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM buckets WHERE resolution = 2 AND start < ?", arguments: [before])
            return db.changesCount
        }
    }

    /// Deletes predictions with event time before `before`, in chunks found by a reader (the
    /// scan never holds the writer). The newest row always stays: SQLite would otherwise hand its
    /// row id out again, and row ids order the replay after a crash.
    public func deleteEvents(before: Int64) async throws -> Int {
        var total = 0
        while true {
            let rowIDs = try await pool.read { db in
                try Int64.fetchAll(
                    db,
                    sql: """
                        SELECT rowid FROM predictions WHERE ts < ? AND rowid < (SELECT max(rowid) FROM predictions)
                        LIMIT 10000
                        """, arguments: [before])
            }
            guard !rowIDs.isEmpty else { return total }
            try await pool.write { db in
                let statement = try db.cachedStatement(sql: "DELETE FROM predictions WHERE rowid = ?")
                for id in rowIDs { try statement.execute(arguments: [id]) }
            }
            total += rowIDs.count
        }
    }

    /// One stored bucket (for a late label on a bucket no longer in memory). A read that fails is
    /// tried three times and then reported as `.unavailable`, never taken for an absent bucket
    /// (folding into an empty one would overwrite the stored history at the next flush); a row
    /// that does not decode is quarantined, and the bucket starts afresh.
    public func loadBucket(_ id: BucketID) -> BucketLoad {
        guard let model = modelIDs.withLock({ $0[id.series.model] }) else { return .absent }
        for attempt in 0..<3 {
            do {
                let row = try pool.read { db in
                    try Row.fetchOne(
                        db,
                        sql: """
                            SELECT model_id, version, variant, resolution, start, data FROM buckets
                            WHERE model_id = ? AND version = ? AND variant = ? AND resolution = ? AND start = ?
                            """,
                        arguments: [model, id.series.version, id.series.variant, id.resolution.rawValue, id.start])
                }
                guard let row else { return .absent }
                if let bucket = Self.bucket(row) { return .found(bucket) }
                quarantine([Self.unreadableBucket(row, reason: "bucket does not decode")])
                return .absent
            } catch {
                logger.warning(
                    "reading a stored bucket failed", metadata: ["attempt": "\(attempt + 1)", "error": "\(error)"])
                usleep(50_000)
            }
        }
        return .unavailable
    }

    /// The stored buckets of a model starting in [from, to] (windows in the past).
    public func loadBuckets(model: String, from: Int64, to: Int64) async throws -> [(BucketID, BucketAggregate)] {
        guard let modelID = modelIDs.withLock({ $0[model] }) else { return [] }
        let names = modelNames()
        return try await pool.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT model_id, version, variant, resolution, start, data FROM buckets
                    WHERE model_id = ? AND start >= ? AND start <= ? ORDER BY version, variant, start, resolution
                    """, arguments: [modelID, from, to])
            return rows.compactMap { row in
                // An unreadable bucket (quarantined at the next start or late label) is left out.
                guard let id = Self.bucketID(row, names), let bucket = Self.bucket(row) else { return nil }
                return (id, bucket)
            }
        }
    }

    // MARK: - References

    /// Stores a model's reference profile, replacing the previous one.
    public func saveReference(_ profile: ReferenceProfile, model: String, at now: Int64) async throws {
        let id = try await modelID(model, at: now)
        try await pool.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO reference_profiles (model_id, generation, data) VALUES (?, ?, ?)",
                arguments: [id, profile.generation, Data(profile.encoded())])
        }
    }

    /// Every stored reference profile, by model.
    public func loadReferences() throws -> [String: ReferenceProfile] {
        let names = modelNames()
        let (profiles, unreadable) = try pool.read { db in
            var out: [String: ReferenceProfile] = [:]
            var unreadable: [UnreadableRow] = []
            for row in try Row.fetchAll(db, sql: "SELECT model_id, data FROM reference_profiles") {
                let data: Data = row["data"]
                let model: Int64 = row["model_id"]
                guard let name = names[model], let profile = ReferenceProfile.decode(Array(data)) else {
                    // The model falls back to its default reference (its first N predictions).
                    unreadable.append(
                        UnreadableRow(source: "reference_profiles", key: "\(model)", reason: "profile does not decode", data: data) {
                            try $0.execute(sql: "DELETE FROM reference_profiles WHERE model_id = ?", arguments: [model])
                        })
                    continue
                }
                out[name] = profile
            }
            return (out, unreadable)
        }
        quarantine(unreadable)
        return profiles
    }

    /// Stored predictions with their labels, in arrival order: the first `limit` of a model, or
    /// those with event time in [from, to] (and `version`, if given).
    public func referenceRows(
        model: String, from: Int64? = nil, to: Int64? = nil, version: String? = nil, limit: Int
    ) async throws -> [(prediction: Prediction, label: OutputValue?)] {
        guard let modelID = modelIDs.withLock({ $0[model] }) else { return [] }
        var sql = """
            SELECT model_id, ext_id, ts, version, variant, prediction, payload, label, label_kind
            FROM predictions WHERE model_id = ?
            """
        var arguments: StatementArguments = [modelID]
        if let from, let to {
            sql += " AND ts >= ? AND ts <= ?"
            arguments += [from, to]
        }
        if let version {
            sql += " AND version = ?"
            arguments += [version]
        }
        sql += " ORDER BY rowid LIMIT ?"
        arguments += [limit]
        let names = modelNames()
        let query = sql
        let args = arguments
        return try await pool.read { db in
            try Row.fetchAll(db, sql: query, arguments: args).map { row in
                guard let p = Self.prediction(row, names) else {
                    throw StorageError.corruptRecord("prediction '\(row["ext_id"] as String)'")
                }
                return (p, Label.value(text: row["label"], kind: row["label_kind"]))
            }
        }
    }

    /// A model's row id, creating the model (through the writer, which owns model rows) when it
    /// has none yet: an uploaded reference can come before any traffic.
    func modelID(_ model: String, at now: Int64) async throws -> Int64 {
        if let id = modelIDs.withLock({ $0[model] }) { return id }
        guard case .modelID(let id) = try await submit(.ensureModel(model, at: now)) else {
            preconditionFailure("model creation answered with another kind")
        }
        return id
    }

    // MARK: - Rows

    func modelNames() -> [Int64: String] {
        Dictionary(modelIDs.withLock { $0 }.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
    }

    static func bucketID(_ row: Row, _ names: [Int64: String]) -> BucketID? {
        guard let model = names[row["model_id"]], let resolution = Resolution(rawValue: row["resolution"]) else {
            return nil
        }
        return BucketID(
            series: SeriesKey(model: model, version: row["version"], variant: row["variant"]), resolution: resolution,
            start: row["start"])
    }

    static func bucket(_ row: Row) -> BucketAggregate? {
        let data: Data = row["data"]
        return BucketAggregate.decode(Array(data))
    }

    static func prediction(_ row: Row, _ names: [Int64: String]) -> Prediction? {
        guard let model = names[row["model_id"]] else { return nil }
        let payload: Data = row["payload"]
        return Prediction.decode(
            id: row["ext_id"], model: model, version: row["version"], variant: row["variant"], timestamp: row["ts"],
            outputText: row["prediction"], payload: Array(payload))
    }

    /// What the aggregates may fold of a stored prediction: the names its model's schema admitted.
    func admitted(_ p: Prediction) -> Prediction { registry.schema(p.model)?.admitted(p) ?? p }

    func labelEvent(_ row: Row, _ names: [Int64: String]) -> FoldEvent? {
        guard let p = Self.prediction(row, names) else { return nil }
        let metrics: Data = row["metrics"]
        guard let newMetrics = Label.decodeMetrics(Array(metrics)) else { return nil }
        let schema = registry.schema(p.model)
        let config = config.model(p.model)
        // Journal entries from before folding was stored: the folding the schema implies now.
        let current = schema.map { LabelFolding(config: config, schema: $0) }
            ?? LabelFolding(task: config.task ?? .binary, positiveClass: config.positiveClass)
        let fold: String? = row["fold"]
        let oldFold: String? = row["old_fold"]
        var label = Label(
            id: p.id, model: p.model, value: Label.value(text: row["new_label"], kind: row["new_kind"]),
            metrics: newMetrics)
        label = schema?.admitted(label) ?? label
        var old: (label: Label, folding: LabelFolding)?
        if (row["old_present"] as Int) == 1 {
            let oldData: Data? = row["old_metrics"]
            guard let oldMetrics = Label.decodeMetrics(Array(oldData ?? Data([0]))) else { return nil }
            let oldLabel = Label(
                id: p.id, model: p.model, value: Label.value(text: row["old_label"], kind: row["old_kind"]),
                metrics: oldMetrics)
            old = (schema?.admitted(oldLabel) ?? oldLabel, oldFold.flatMap(LabelFolding.init(code:)) ?? current)
        }
        return .label(
            label, folding: fold.flatMap(LabelFolding.init(code:)) ?? current, prediction: admitted(p),
            replacing: old, seq: row["seq"])
    }
}
