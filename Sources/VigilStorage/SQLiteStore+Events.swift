import Foundation
import GRDB
import VigilCore

// Reading events back: the replay after a restart, reference rows, and event retention.

extension SQLiteStore {
    /// Hands the events committed after `watermark` (the tail a crash kept out of the stored
    /// partials) to `sink`, in commit order, `batchSize` at a time: predictions first, then the
    /// label journal. Rows that do not decode are copied aside (and kept where they are).
    public func replay(
        after watermark: FoldWatermark, batchSize: Int = 10_000, into sink: ([CommittedEvent]) -> Void
    ) throws -> (predictions: Int, labels: Int) {
        let names = modelNames()
        let predictions = try replayPages(after: watermark.predictions, source: "predictions", into: sink) { after in
            try self.pool.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT rowid, model_id, ext_id, ts, version, variant, shadow, prediction, payload FROM predictions
                        WHERE rowid > ? ORDER BY rowid LIMIT ?
                        """, arguments: [after, batchSize]
                ).map { row -> (key: Int64, event: CommittedEvent?) in
                    let rowID: Int64 = row["rowid"]
                    return (rowID, Self.prediction(row, names).map { .prediction(self.admitted($0), rowID: rowID) })
                }
            }
        }
        let labels = try replayPages(after: watermark.labels, source: "label_journal", into: sink) { after in
            try self.pool.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT j.seq, j.model_id, j.ext_id, j.label AS new_label, j.label_kind AS new_kind, j.metrics,
                               j.old_present, j.old_label, j.old_kind, j.old_metrics, j.fold, j.old_fold,
                               p.ts, p.version, p.variant, p.prediction, p.payload
                        FROM label_journal j
                        JOIN predictions p ON p.model_id = j.model_id AND p.ext_id = j.ext_id AND p.shadow = j.shadow
                        WHERE j.seq > ? ORDER BY j.seq LIMIT ?
                        """, arguments: [after, batchSize]
                ).map { row -> (key: Int64, event: CommittedEvent?) in (row["seq"], self.labelEvent(row, names)) }
            }
        }
        return (predictions, labels)
    }

    /// Pages through `page(after)` (keys ascending) until it comes back empty, handing what
    /// decodes to `sink` and quarantining what does not; returns how many events were handed on.
    private func replayPages(
        after start: Int64, source: String, into sink: ([CommittedEvent]) -> Void,
        page: (Int64) throws -> [(key: Int64, event: CommittedEvent?)]
    ) throws -> Int {
        var count = 0
        var after = start
        while true {
            let events = try page(after)
            guard let last = events.last?.key else { return count }
            let folds = events.compactMap(\.event)
            sink(folds)
            count += folds.count
            quarantine(
                events.filter { $0.event == nil }.map {
                    UnreadableRow(source: source, key: "\($0.key)", reason: "\(source) row does not decode")
                })
            after = last
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

    /// Stored live predictions (no shadows) with their labels, in arrival order: the first
    /// `limit` of a model, or those with event time in [from, to] (and `version`, if given).
    public func referenceRows(
        model: String, from: Int64? = nil, to: Int64? = nil, version: String? = nil, limit: Int
    ) async throws -> [ReferenceRow] {
        guard let modelID = modelIDs.withLock({ $0[model] }) else { return [] }
        var sql = """
            SELECT model_id, ext_id, ts, version, variant, prediction, payload, label, label_kind
            FROM predictions WHERE model_id = ? AND shadow = 0
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

    /// Shadow predictions with event time in [from, to] and the live predictions of the same
    /// ids, with the live one's label; at most `limit` pairs, oldest first.
    public func shadowPairs(model: String, from: Int64, to: Int64, limit: Int) async throws -> [ShadowPair] {
        guard let modelID = modelIDs.withLock({ $0[model] }) else { return [] }
        let names = modelNames()
        return try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT s.model_id, s.ext_id, s.ts, s.version, s.variant, s.prediction, s.payload,
                           l.ts AS l_ts, l.version AS l_version, l.variant AS l_variant, l.prediction AS l_prediction,
                           l.payload AS l_payload, l.label, l.label_kind
                    FROM predictions s INDEXED BY predictions_shadows
                    JOIN predictions l ON l.model_id = s.model_id AND l.ext_id = s.ext_id AND l.shadow = 0
                    WHERE s.model_id = ? AND s.shadow = 1 AND s.ts >= ? AND s.ts <= ?
                    ORDER BY s.ts LIMIT ?
                    """, arguments: [modelID, from, to, limit]
            ).compactMap { row -> ShadowPair? in
                let livePayload: Data = row["l_payload"]
                guard let shadow = Self.prediction(row, names),
                    let live = Prediction.decode(
                        id: row["ext_id"], model: model, version: row["l_version"], variant: row["l_variant"],
                        timestamp: row["l_ts"], outputText: row["l_prediction"], payload: Array(livePayload))
                else { return nil }
                return ShadowPair(live: live, shadow: shadow, label: Label.value(text: row["label"], kind: row["label_kind"]))
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

    static func prediction(_ row: Row, _ names: [Int64: String], features: Bool = true) -> Prediction? {
        guard let model = names[row["model_id"]] else { return nil }
        let payload: Data = row["payload"]
        return Prediction.decode(
            id: row["ext_id"], model: model, version: row["version"], variant: row["variant"], timestamp: row["ts"],
            outputText: row["prediction"], payload: Array(payload), features: features)
    }

    /// What the aggregates may fold of a stored prediction: the names its model's schema admitted.
    func admitted(_ p: Prediction) -> Prediction { registry.schema(p.model)?.admitted(p) ?? p }

    func labelEvent(_ row: Row, _ names: [Int64: String]) -> CommittedEvent? {
        // A label's fold reads no features, so they are not built.
        guard let p = Self.prediction(row, names, features: false) else { return nil }
        func columns(_ text: String, _ kind: String, _ metrics: String) -> LabelColumns {
            let data: Data? = row[metrics]
            return LabelColumns(text: row[text], kind: row[kind], metrics: data.map { Array($0) } ?? [0], ts: nil)
        }
        return JournalEntry(
            seq: row["seq"], prediction: p, label: columns("new_label", "new_kind", "metrics"),
            old: (row["old_present"] as Int) == 1 ? columns("old_label", "old_kind", "old_metrics") : nil,
            fold: row["fold"], oldFold: row["old_fold"]
        ).event(registry: registry, config: config)
    }
}
