import Foundation
import NIOCore
import PostgresNIO
import VigilCore
import VigilStorage

// Reading events back: this writer's replay after a restart, reference rows, shadow pairs,
// and event retention.

extension PostgresStore {
    public func replay(
        after watermark: FoldWatermark, batchSize: Int = 10_000, into sink: ([CommittedEvent]) -> Void
    ) throws -> (predictions: Int, labels: Int) {
        try replay(after: watermark, batchSize: batchSize, link: loader, into: sink)
    }

    /// Hands this writer's events after `watermark` to `sink` in its commit order: predictions
    /// by row id, then label changes by journal number. Rows that do not decode are logged and
    /// skipped (they stay stored).
    func replay(
        after watermark: FoldWatermark, batchSize: Int, link: PGLink, into sink: ([CommittedEvent]) -> Void
    ) throws -> (predictions: Int, labels: Int) {
        var names = modelNames()
        var predictions = 0
        var after = watermark.predictions
        while true {
            let rows = try link.query(
                """
                SELECT id, model_id, ext_id, ts, version, variant, prediction, payload FROM predictions
                WHERE writer = \(writer) AND id > \(after) ORDER BY id LIMIT \(batchSize)
                """
            ).rows
            guard !rows.isEmpty else { break }
            var folds: [CommittedEvent] = []
            for row in rows {
                guard let id = try row.int64(0) else { continue }
                after = id
                guard let model = try modelName(try row.int64(1), &names),
                    let p = try Self.prediction(row, model: model, from: 2)
                else {
                    logger.error("a stored prediction does not decode; it is left out of the aggregates", metadata: ["row": "\(id)"])
                    continue
                }
                folds.append(.prediction(registry.schema(model)?.admitted(p) ?? p, rowID: id))
            }
            sink(folds)
            predictions += folds.count
        }
        var labels = 0
        after = watermark.labels
        while true {
            let rows = try link.query(
                """
                SELECT j.seq, j.model_id, p.ext_id, p.ts, p.version, p.variant, p.prediction, p.payload,
                       j.label, j.label_kind, j.metrics, j.old_present, j.old_label, j.old_kind, j.old_metrics, j.fold,
                       j.old_fold
                FROM label_journal j
                JOIN predictions p ON p.model_id = j.model_id AND p.ext_id = j.ext_id AND p.shadow = j.shadow
                WHERE j.writer = \(writer) AND j.seq > \(after) ORDER BY j.seq LIMIT \(batchSize)
                """
            ).rows
            guard !rows.isEmpty else { break }
            var folds: [CommittedEvent] = []
            for row in rows {
                guard let seq = try row.int64(0) else { continue }
                after = seq
                guard let model = try modelName(try row.int64(1), &names),
                    let p = try Self.prediction(row, model: model, from: 2, features: false),
                    let event = JournalEntry(
                        seq: seq, prediction: p,
                        label: LabelColumns(text: try row.text(8), kind: try row.int(9), metrics: try row.bytes(10) ?? [0], ts: nil),
                        old: try row.bool(11) == true
                            ? LabelColumns(text: try row.text(12), kind: try row.int(13), metrics: try row.bytes(14) ?? [0], ts: nil)
                            : nil,
                        fold: try row.text(15), oldFold: try row.text(16)
                    ).event(registry: registry, config: config)
                else {
                    logger.error("a label journal entry does not decode; it is left out of the aggregates", metadata: ["seq": "\(seq)"])
                    continue
                }
                folds.append(event)
            }
            sink(folds)
            labels += folds.count
        }
        return (predictions, labels)
    }

    /// The name of a model row, reading models another replica created since this one looked.
    func modelName(_ id: Int64?, _ names: inout [Int64: String]) throws -> String? {
        guard let id else { return nil }
        if let name = names[id] { return name }
        guard let name = try loader.query("SELECT name FROM models WHERE id = \(id)").first?.text(0) else { return nil }
        modelIDs.withLock { $0[name] = id }
        names[id] = name
        return name
    }

    /// A model's row id in this replica's view, or the database's (a model another replica created).
    func knownModelID(_ model: String) async throws -> Int64? {
        if let id = modelIDs.withLock({ $0[model] }) { return id }
        guard let id = try await reader.read("SELECT id FROM models WHERE name = \(model)").first?.int64(0) else {
            return nil
        }
        modelIDs.withLock { $0[model] = id }
        return id
    }

    public func deleteEvents(before: Int64) async throws -> Int {
        var total = 0
        while true {
            let deleted = try await maintenance.transactionOffThread { tx in
                try tx.query(
                    """
                    DELETE FROM predictions WHERE ctid IN (SELECT ctid FROM predictions WHERE ts < \(before) LIMIT 10000)
                    """
                ).affected
            }
            total += deleted
            if deleted < 10_000 { return total }
        }
    }

    public func referenceRows(
        model: String, from: Int64?, to: Int64?, version: String?, limit: Int
    ) async throws -> [ReferenceRow] {
        guard let modelID = try await knownModelID(model) else { return [] }
        var query: PostgresQuery = """
            SELECT ext_id, ts, version, variant, prediction, payload, label, label_kind FROM predictions
            WHERE model_id = \(modelID) AND NOT shadow
            """
        if let from, let to {
            query.sql += " AND ts >= $\(query.binds.count + 1) AND ts <= $\(query.binds.count + 2)"
            query.binds.append(from)
            query.binds.append(to)
        }
        if let version {
            query.sql += " AND version = $\(query.binds.count + 1)"
            query.binds.append(version)
        }
        query.sql += " ORDER BY id LIMIT $\(query.binds.count + 1)"
        query.binds.append(limit)
        return try await reader.read(query).rows.map { row in
            guard let p = try Self.prediction(row, model: model) else {
                throw StorageError.corruptRecord("prediction '\(try row.utf8(0) ?? "?")'")
            }
            return (p, Label.value(text: try row.text(6), kind: try row.int(7)))
        }
    }

    public func shadowPairs(model: String, from: Int64, to: Int64, limit: Int) async throws -> [ShadowPair] {
        guard let modelID = try await knownModelID(model) else { return [] }
        return try await reader.read(
            """
            SELECT s.ext_id, s.ts, s.version, s.variant, s.prediction, s.payload,
                   l.ext_id, l.ts, l.version, l.variant, l.prediction, l.payload, l.label, l.label_kind
            FROM predictions s
            JOIN predictions l ON l.model_id = s.model_id AND l.ext_id = s.ext_id AND NOT l.shadow
            WHERE s.model_id = \(modelID) AND s.shadow AND s.ts >= \(from) AND s.ts <= \(to)
            ORDER BY s.ts LIMIT \(limit)
            """
        ).rows.compactMap { row -> ShadowPair? in
            guard let shadow = try Self.prediction(row, model: model), let live = try Self.prediction(row, model: model, from: 6)
            else { return nil }
            return ShadowPair(live: live, shadow: shadow, label: Label.value(text: try row.text(12), kind: try row.int(13)))
        }
    }
}
