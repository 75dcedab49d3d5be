import NIOCore
import PostgresNIO
import VigilCore
import VigilStorage

/// The PostgreSQL row operations of one write transaction of this replica's writer.
///
/// A label's rows are read `FOR UPDATE`: a label for the same id arriving at another replica
/// waits for this transaction and then reads the label it wrote, so a correction always takes
/// back what is stored. Held labels are looked for on every live prediction, since another
/// replica may hold one this replica's counts know nothing of.
///
/// A label change of a row another replica stored is not journalled here but left in
/// `label_inbox` for that replica (the row's owner), which journals and folds it: each partial
/// then holds whole predictions with their labels, as one process's buckets do.
struct PGWriteRows: WriteRows {
    let tx: PGLink.PGTransaction
    let writer: String
    let context: WriteContext
    /// The writer that stored each row this transaction read for a label, by id and shadow.
    private var owners: [RowKey: String] = [:]

    struct RowKey: Hashable {
        var model: Int64
        var id: String
        var shadow: Bool
    }

    init(tx: PGLink.PGTransaction, writer: String, context: WriteContext) {
        self.tx = tx
        self.writer = writer
        self.context = context
    }

    func createModel(name: String, coreJSON: String, at now: Int64) throws -> Int64 {
        // Another replica may have created it meanwhile: take its row.
        let row = try tx.query(
            """
            INSERT INTO models (name, created_at, schema) VALUES (\(name), \(now), \(coreJSON))
            ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id
            """
        ).first
        guard let id = try row?.int64(0) else { throw StorageError.corruptRecord("model row of '\(name)'") }
        return id
    }

    /// Models with labels held (by any replica) when this transaction looked, and those it held
    /// labels of since; `nil` until first asked.
    private var heldModels: Set<Int64>?

    /// Held labels are looked for only in models that have any (one query per transaction):
    /// another replica's held label is found whatever this replica's counts say. (A label held
    /// by another replica in a transaction that commits while this one runs stays held, as it
    /// would if it had arrived a moment later; see README, Scale.)
    mutating func mayHoldLabels(model: Int64, counted: Bool) throws -> Bool {
        if let heldModels { return heldModels.contains(model) }
        var held = Set<Int64>()
        for row in try tx.query(
            "SELECT m.id FROM models m WHERE EXISTS (SELECT 1 FROM pending_labels h WHERE h.model_id = m.id)"
        ).rows {
            if let id = try row.int64(0) { held.insert(id) }
        }
        heldModels = held
        return held.contains(model)
    }

    func insertPrediction(model: Int64, _ prepared: PreparedPrediction, receivedAt: Int64) throws -> Int64? {
        let p = prepared.prediction
        let row = try tx.query(
            """
            INSERT INTO predictions (writer, model_id, ext_id, shadow, ts, received_at, version, variant, prediction, payload)
            VALUES (\(writer), \(model), \(ByteBuffer.utf8(p.id)), \(p.isShadow), \(p.timestamp), \(receivedAt), \(p.version),
                    \(p.variant), \(prepared.outputText), \(ByteBuffer.bytes(prepared.payload)))
            ON CONFLICT DO NOTHING RETURNING id
            """
        ).first
        return try row?.int64(0)
    }

    mutating func labelRows(model: Int64, for label: Label) throws -> (live: StoredRow?, shadow: StoredRow?) {
        var live: StoredRow?
        var shadow: StoredRow?
        for row in try tx.query(
            """
            SELECT labeled_at, label, label_kind, label_metrics, label_fold, shadow, ts, version, variant, prediction, payload,
                writer
            FROM predictions WHERE model_id = \(model) AND ext_id = \(ByteBuffer.utf8(label.id))
            ORDER BY shadow FOR UPDATE
            """
        ).rows {
            let state = try Self.labelState(row, for: label)
            guard let ts = try row.int64(6), let version = try row.text(7), let output = try row.text(9),
                let payload = try row.bytes(10),
                let prediction = Prediction.decode(
                    id: label.id, model: label.model, version: version, variant: try row.text(8), timestamp: ts,
                    outputText: output, payload: payload, features: false)
            else { throw StorageError.corruptRecord("prediction '\(label.id)'") }
            let isShadow = try row.bool(5) == true
            owners[RowKey(model: model, id: label.id, shadow: isShadow)] = try row.text(11) ?? writer
            if isShadow { shadow = (state, prediction) } else { live = (state, prediction) }
        }
        return (live, shadow)
    }

    /// The label columns `labeled_at, label, label_kind, label_metrics, label_fold` (positions 0–4).
    private static func labelState(_ row: PGRow, for label: Label) throws -> StoredLabelState {
        try StoredLabelState(
            labeled: try row.int64(0) != nil, text: try row.text(1), kind: try row.int(2), metrics: try row.bytes(3),
            fold: try row.text(4), for: label)
    }

    mutating func shadowLabelState(model: Int64, for label: Label) throws -> StoredLabelState? {
        guard
            let row = try tx.query(
                """
                SELECT labeled_at, label, label_kind, label_metrics, label_fold, writer FROM predictions
                WHERE model_id = \(model) AND ext_id = \(ByteBuffer.utf8(label.id)) AND shadow FOR UPDATE
                """
            ).first
        else { return nil }
        owners[RowKey(model: model, id: label.id, shadow: true)] = try row.text(5) ?? writer
        return try Self.labelState(row, for: label)
    }

    func liveLabel(model: Int64, id: String) throws -> LabelColumns? {
        try tx.query(
            """
            SELECT label, label_kind, label_metrics, label_ts FROM predictions
            WHERE model_id = \(model) AND ext_id = \(ByteBuffer.utf8(id)) AND NOT shadow AND labeled_at IS NOT NULL
            """
        ).first.map(Self.columns)
    }

    func heldLabel(model: Int64, id: String, since: Int64?) throws -> HeldLabel? {
        try tx.query(
            """
            SELECT label, label_kind, metrics, ts, received_at FROM pending_labels
            WHERE model_id = \(model) AND ext_id = \(ByteBuffer.utf8(id)) AND received_at >= \(since ?? Int64.min)
            FOR UPDATE
            """
        ).first.map(Self.held)
    }

    func takeHeldLabel(model: Int64, id: String) throws -> HeldLabel? {
        try tx.query(
            """
            DELETE FROM pending_labels WHERE model_id = \(model) AND ext_id = \(ByteBuffer.utf8(id))
            RETURNING label, label_kind, metrics, ts, received_at
            """
        ).first.map(Self.held)
    }

    mutating func holdLabel(model: Int64, id: String, _ c: LabelColumns, receivedAt: Int64) throws {
        heldModels?.insert(model)
        try tx.query(
            """
            INSERT INTO pending_labels (model_id, ext_id, label, label_kind, metrics, ts, received_at)
            VALUES (\(model), \(ByteBuffer.utf8(id)), \(c.text), \(c.kind), \(ByteBuffer.bytes(c.metrics)), \(c.ts), \(receivedAt))
            ON CONFLICT (model_id, ext_id) DO UPDATE SET label = EXCLUDED.label, label_kind = EXCLUDED.label_kind,
                metrics = EXCLUDED.metrics, ts = EXCLUDED.ts, received_at = EXCLUDED.received_at
            """)
    }

    func setLabel(model: Int64, id: String, _ c: LabelColumns, fold: String, shadow: Bool, at now: Int64) throws {
        try tx.query(
            """
            UPDATE predictions SET label = \(c.text), label_kind = \(c.kind), label_metrics = \(ByteBuffer.bytes(c.metrics)),
                label_ts = \(c.ts), labeled_at = \(now), label_fold = \(fold)
            WHERE model_id = \(model) AND ext_id = \(ByteBuffer.utf8(id)) AND shadow = \(shadow)
            """)
    }

    mutating func journal(
        model: Int64, id: String, _ c: LabelColumns, old: (columns: LabelColumns, fold: String)?, fold: String,
        shadow: Bool
    ) throws -> JournalOutcome {
        let owner = owners[RowKey(model: model, id: id, shadow: shadow)] ?? writer
        guard owner == writer else {
            try tx.query(
                """
                INSERT INTO label_inbox (owner, written_by, model_id, ext_id, shadow, label, label_kind, metrics, old_present,
                    old_label, old_kind, old_metrics, fold, old_fold)
                VALUES (\(owner), \(writer), \(model), \(ByteBuffer.utf8(id)), \(shadow), \(c.text), \(c.kind),
                    \(ByteBuffer.bytes(c.metrics)), \(old != nil), \(old?.columns.text), \(old?.columns.kind),
                    \(old.map { ByteBuffer.bytes($0.columns.metrics) }), \(fold), \(old?.fold))
                """)
            return JournalOutcome(seq: nil)
        }
        // Changes other replicas made to this row before this one come first, in their order.
        let earlier = try adoptInbox(PGWriteRows.RowKey(model: model, id: id, shadow: shadow))
        return JournalOutcome(seq: try insertJournal(model: model, id: id, c, old: old, fold: fold, shadow: shadow), earlier: earlier)
    }

    private func insertJournal(
        model: Int64, id: String, _ c: LabelColumns, old: (columns: LabelColumns, fold: String)?, fold: String?,
        shadow: Bool
    ) throws -> Int64 {
        let row = try tx.query(
            """
            INSERT INTO label_journal (writer, model_id, ext_id, shadow, label, label_kind, metrics, old_present, old_label,
                old_kind, old_metrics, fold, old_fold)
            VALUES (\(writer), \(model), \(ByteBuffer.utf8(id)), \(shadow), \(c.text), \(c.kind), \(ByteBuffer.bytes(c.metrics)),
                \(old != nil), \(old?.columns.text), \(old?.columns.kind), \(old.map { ByteBuffer.bytes($0.columns.metrics) }),
                \(fold), \(old?.fold.isEmpty == false ? old?.fold : nil))
            RETURNING seq
            """
        ).first
        guard let seq = try row?.int64(0) else { throw StorageError.corruptRecord("label journal entry of '\(id)'") }
        return seq
    }

    /// Journals, as this writer's, the label changes other writers left for its rows (those of
    /// one row, or all), in the order they were made; returns their folds.
    func adoptInbox(_ key: RowKey?) throws -> [CommittedEvent] {
        var query: PostgresQuery = """
            DELETE FROM label_inbox WHERE owner = \(writer)
            """
        if let key {
            query.sql += " AND model_id = $2 AND ext_id = $3 AND shadow = $4"
            query.binds.append(key.model)
            query.binds.append(ByteBuffer.utf8(key.id))
            query.binds.append(key.shadow)
        }
        query.sql += """
             RETURNING id, model_id, ext_id, shadow, label, label_kind, metrics, old_present, old_label, old_kind,
                old_metrics, fold, old_fold
            """
        let rows = try tx.query(query).rows
        guard !rows.isEmpty else { return [] }
        var entries: [(order: Int64, row: PGRow)] = []
        for row in rows { entries.append((try row.int64(0) ?? 0, row)) }
        entries.sort { $0.order < $1.order }
        var events: [CommittedEvent] = []
        for (_, row) in entries {
            guard let model = try row.int64(1), let id = try row.utf8(2), let shadow = try row.bool(3) else { continue }
            let c = LabelColumns(text: try row.text(4), kind: try row.int(5), metrics: try row.bytes(6) ?? [0], ts: nil)
            let old = try row.bool(7) == true
                ? LabelColumns(text: try row.text(8), kind: try row.int(9), metrics: try row.bytes(10) ?? [0], ts: nil) : nil
            let fold = try row.text(11)
            let oldFold = try row.text(12)
            let seq = try insertJournal(
                model: model, id: id, c, old: old.map { ($0, oldFold ?? "") }, fold: fold, shadow: shadow)
            guard
                let p = try tx.query(
                    """
                    SELECT p.ext_id, p.ts, p.version, p.variant, p.prediction, p.payload, m.name
                    FROM predictions p JOIN models m ON m.id = p.model_id
                    WHERE p.model_id = \(model) AND p.ext_id = \(ByteBuffer.utf8(id)) AND p.shadow = \(shadow)
                    """
                ).first,
                let name = try p.text(6),
                let prediction = try PostgresStore.prediction(p, model: name, features: false),
                let event = JournalEntry(seq: seq, prediction: prediction, label: c, old: old, fold: fold, oldFold: oldFold)
                    .event(registry: context.registry, config: context.config)
            else {
                context.logger.error("a label change left by another replica does not decode; it is not folded", metadata: ["seq": "\(seq)"])
                continue
            }
            events.append(event)
        }
        return events
    }

    func expireHeld(model: Int64, before cutoff: Int64) throws -> Int {
        try tx.query("DELETE FROM pending_labels WHERE model_id = \(model) AND received_at < \(cutoff)").affected
    }

    func probe(at now: Int64) throws {
        try tx.query(
            """
            INSERT INTO health (writer, probed_at) VALUES (\(writer), \(now))
            ON CONFLICT (writer) DO UPDATE SET probed_at = EXCLUDED.probed_at
            """)
    }

    func writeSchema(_ schema: inout ModelSchema, id: Int64) throws {
        try tx.query("UPDATE models SET schema = \(try SchemaRows.coreJSON(schema)) WHERE id = \(id)")
        for e in try SchemaRows.takeChangedEntries(&schema) {
            try tx.query(
                """
                INSERT INTO model_entries (model_id, kind, name, detail, value)
                VALUES (\(id), \(e.kind), \(e.name), \(e.detail), \(e.value))
                ON CONFLICT (model_id, kind, name, detail) DO UPDATE SET value = EXCLUDED.value
                """)
        }
    }

    /// A label's columns from a row with `label, label_kind, metrics, ts`.
    private static func columns(_ row: PGRow) throws -> LabelColumns {
        LabelColumns(text: try row.text(0), kind: try row.int(1), metrics: try row.bytes(2) ?? [0], ts: try row.int64(3))
    }

    private static func held(_ row: PGRow) throws -> HeldLabel {
        HeldLabel(columns: try columns(row), receivedAt: try row.int64(4) ?? 0)
    }
}
