import Foundation
import GRDB
import VigilCore

/// The SQLite row operations of one write transaction: the per-event statements bound and
/// stepped through `RawStatement`, the rest through GRDB's cached statements.
struct SQLiteWriteRows: WriteRows {
    let db: Database
    /// The per-event statements, prepared once per transaction.
    let hot: HotStatements

    init(db: Database) {
        self.db = db
        hot = HotStatements(db)
    }

    func createModel(name: String, coreJSON: String, at now: Int64) throws -> Int64 {
        try db.execute(
            sql: "INSERT INTO models (name, created_at, schema) VALUES (?, ?, ?)", arguments: [name, now, coreJSON])
        return db.lastInsertedRowID
    }

    func insertPrediction(model: Int64, _ prepared: PreparedPrediction, receivedAt: Int64) throws -> Int64? {
        let p = prepared.prediction
        try hot(.insertPrediction).run([
            .int(model), .text(p.id), .int(p.timestamp), .int(receivedAt), .text(p.version), .text(p.variant),
            .int(p.isShadow ? 1 : 0), .text(prepared.outputText), .blob(prepared.payload),
        ])
        return db.changesCount == 0 ? nil : db.lastInsertedRowID
    }

    func labelRows(model: Int64, for label: Label) throws -> (live: StoredRow?, shadow: StoredRow?) {
        var live: StoredRow?
        var shadow: StoredRow?
        try hot(.labelRows).forEachRow([.int(model), .text(label.id)]) { row in
            let stored = (
                try StoredLabelState(row, for: label), try storedPrediction(of: label, row, from: StoredLabelState.width + 1)
            )
            switch row.int(StoredLabelState.width) {
            case 0: live = stored
            case 1: shadow = stored
            default: break
            }
        }
        return (live, shadow)
    }

    /// The prediction a stored row holds, from its columns `ts, version, variant, prediction,
    /// payload` at `offset` on (without its features, which a label's fold does not read).
    private func storedPrediction(of label: Label, _ row: RawRow, from offset: Int32) throws -> Prediction {
        guard let timestamp = row.int64(offset), let version = row.text(offset + 1),
            let outputText = row.text(offset + 3), let payload = row.bytes(offset + 4),
            let decoded = Prediction.decode(
                id: label.id, model: label.model, version: version, variant: row.text(offset + 2),
                timestamp: timestamp, outputText: outputText, payload: payload, features: false)
        else { throw StorageError.corruptRecord("prediction '\(label.id)'") }
        return decoded
    }

    func shadowLabelState(model: Int64, for label: Label) throws -> StoredLabelState? {
        var state: StoredLabelState?
        try RawStatement(
            db,
            sql: """
                SELECT \(StoredLabelState.columns) FROM predictions
                WHERE model_id = ? AND ext_id = ? AND shadow = 1
                """
        ).forEachRow([.int(model), .text(label.id)]) { state = try StoredLabelState($0, for: label) }
        return state
    }

    func liveLabel(model: Int64, id: String) throws -> LabelColumns? {
        try Row.fetchOne(
            db,
            sql: """
                SELECT label, label_kind, label_metrics AS metrics, label_ts AS ts FROM predictions
                WHERE model_id = ? AND ext_id = ? AND shadow = 0 AND labeled_at IS NOT NULL
                """, arguments: [model, id]
        ).map(Self.columns)
    }

    func heldLabel(model: Int64, id: String, since: Int64?) throws -> HeldLabel? {
        let select = try db.cachedStatement(
            sql: """
                SELECT label, label_kind, metrics, ts, received_at FROM pending_labels
                WHERE model_id = ? AND ext_id = ? AND received_at >= ?
                """)
        return try Row.fetchOne(select, arguments: [model, id, since ?? Int64.min]).map {
            HeldLabel(columns: Self.columns($0), receivedAt: $0["received_at"])
        }
    }

    func takeHeldLabel(model: Int64, id: String) throws -> HeldLabel? {
        guard let held = try heldLabel(model: model, id: id, since: nil) else { return nil }
        try db.execute(sql: "DELETE FROM pending_labels WHERE model_id = ? AND ext_id = ?", arguments: [model, id])
        return held
    }

    func holdLabel(model: Int64, id: String, _ c: LabelColumns, receivedAt: Int64) throws {
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO pending_labels (model_id, ext_id, label, label_kind, metrics, ts, received_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [model, id, c.text, c.kind, Data(c.metrics), c.ts, receivedAt])
    }

    func setLabel(model: Int64, id: String, _ c: LabelColumns, fold: String, shadow: Bool, at now: Int64) throws {
        try hot(.setLabel).run([
            .text(c.text), .int(c.kind), .blob(c.metrics), c.ts.map { .int($0) } ?? .null, .int(now), .text(fold),
            .int(model), .text(id), .int(shadow ? 1 : 0),
        ])
    }

    func journal(
        model: Int64, id: String, _ c: LabelColumns, old: (columns: LabelColumns, fold: String)?, fold: String,
        shadow: Bool
    ) throws -> JournalOutcome {
        try hot(.journal).run([
            .int(model), .text(id), .text(c.text), .int(c.kind), .blob(c.metrics), .int(old == nil ? 0 : 1),
            .text(old?.columns.text), .int(old?.columns.kind), old.map { .blob($0.columns.metrics) } ?? .null,
            .text(fold), .text(old?.fold), .int(shadow ? 1 : 0),
        ])
        return JournalOutcome(seq: db.lastInsertedRowID)
    }

    func expireHeld(model: Int64, before cutoff: Int64) throws -> Int {
        try db.execute(sql: "DELETE FROM pending_labels WHERE model_id = ? AND received_at < ?", arguments: [model, cutoff])
        return db.changesCount
    }

    func probe(at now: Int64) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO health (id, probed_at) VALUES (1, ?)", arguments: [now])
    }

    func writeSchema(_ schema: inout ModelSchema, id: Int64) throws {
        try SchemaRows.write(&schema, id: id, db)
    }

    /// A label's columns from a row with `label, label_kind, metrics, ts`.
    private static func columns(_ row: Row) -> LabelColumns {
        let metrics: Data? = row["metrics"]
        return LabelColumns(
            text: row["label"], kind: row["label_kind"], metrics: metrics.map { Array($0) } ?? [0], ts: row["ts"])
    }
}
