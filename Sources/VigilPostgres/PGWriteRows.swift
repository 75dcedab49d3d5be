import NIOCore
import PostgresNIO
import VigilCore
import VigilStorage

/// The PostgreSQL row operations of one write transaction of this replica's writer.
///
/// Round trips, not rows, are what a remote database charges for, so a transaction costs a
/// few statements however many events its group holds. `prepare` locks, in one global order,
/// the rows the group's labels will change (reading them whole, so a label's join needs no
/// statement of its own) and the labels held for its ids, finds which prediction keys are
/// stored already, and takes row ids and journal numbers from the sequences. Predictions,
/// label writes, journal entries and inbox entries then collect in `pending` and are written
/// with one statement per table (`unnest` of arrays) before anything reads them back, and
/// before commit. A label for the same id arriving at another replica waits for this
/// transaction and then reads the label it wrote, so a correction always takes back what is
/// stored; two replicas inserting the same new id at once make the later insert fail on the
/// key, and its transaction runs again (then it finds the row: a duplicate).
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
    /// The rows of each labelled id as `prepare` locked them (an empty list: none stored).
    private var lockedRows: [Key: [PGRow]] = [:]
    /// Ids whose rows this transaction changed since it locked them (read again, not from `lockedRows`).
    private var touched: Set<Key> = []
    /// Prediction keys (id and shadow) this transaction stored.
    private var inserted: Set<RowKey> = []
    /// Prediction keys stored before this transaction or by it.
    private var stored: Set<RowKey> = []
    /// Row ids and journal numbers taken from the sequences, ascending, not used yet.
    private var freeRowIDs: ArraySlice<Int64> = []
    private var freeSeqs: ArraySlice<Int64> = []
    private var labelsInGroup = 0
    private var pending = Pending()

    struct RowKey: Hashable {
        var model: Int64
        var id: String
        var shadow: Bool
    }

    struct Key: Hashable {
        var model: Int64
        var id: String
    }

    init(tx: PGLink.PGTransaction, writer: String, context: WriteContext) {
        self.tx = tx
        self.writer = writer
        self.context = context
    }

    /// Readies the transaction for `requests`: resolves models other replicas created, locks
    /// (in key order) the prediction rows of labelled ids and the held labels of every id,
    /// notes which prediction keys are stored, and takes row ids for the group's predictions.
    /// Two replicas writing overlapping ids wait for each other here instead of deadlocking.
    mutating func prepare(for requests: [EventWrite], known: [String: Int64]) throws {
        var names = Set<String>()
        for request in requests {
            switch request {
            case .labels(let labels, _): for l in labels where known[l.model] == nil { names.insert(l.model) }
            case .predictions(let predictions, _):
                for p in predictions where known[p.prediction.model] == nil { names.insert(p.prediction.model) }
            default: break
            }
        }
        var known = known
        if !names.isEmpty {
            for row in try tx.query("SELECT id, name FROM models WHERE name = ANY(\(Array(names)))").rows {
                if let id = try row.int64(0), let name = try row.text(1) { known[name] = id }
            }
        }
        var labelKeys: Set<Key> = []
        var predictionKeys: Set<Key> = []
        var predictions = 0
        for request in requests {
            switch request {
            case .labels(let labels, _):
                labelsInGroup += labels.count
                for l in labels {
                    guard let m = known[l.model] else { continue }
                    labelKeys.insert(Key(model: m, id: l.id))
                }
            case .predictions(let batch, _):
                predictions += batch.count
                for p in batch {
                    guard let m = known[p.prediction.model] else { continue }
                    predictionKeys.insert(Key(model: m, id: p.prediction.id))
                }
            default: break
            }
        }
        if !labelKeys.isEmpty {
            let keys = Array(labelKeys)
            for key in keys { lockedRows[key] = [] }
            for row in try tx.query(
                """
                SELECT p.labeled_at, p.label, p.label_kind, p.label_metrics, p.label_fold, p.shadow, p.ts, p.version,
                    p.variant, p.prediction, p.payload, p.writer, p.model_id, p.ext_id
                FROM predictions p
                JOIN unnest(\(keys.map(\.model)), \(keys.map { ByteBuffer.utf8($0.id) })) AS k(m, e)
                    ON p.model_id = k.m AND p.ext_id = k.e
                ORDER BY p.model_id, p.ext_id, p.shadow FOR UPDATE OF p
                """
            ).rows {
                guard let m = try row.int64(12), let e = try row.utf8(13) else { continue }
                lockedRows[Key(model: m, id: e), default: []].append(row)
                stored.insert(RowKey(model: m, id: e, shadow: try row.bool(5) == true))
            }
        }
        let allKeys = Array(labelKeys.union(predictionKeys))
        if !allKeys.isEmpty {
            try tx.query(
                """
                SELECT 1 FROM pending_labels h
                JOIN unnest(\(allKeys.map(\.model)), \(allKeys.map { ByteBuffer.utf8($0.id) })) AS k(m, e)
                    ON h.model_id = k.m AND h.ext_id = k.e
                ORDER BY h.model_id, h.ext_id FOR UPDATE OF h
                """)
        }
        let unread = Array(predictionKeys.subtracting(labelKeys))
        if !unread.isEmpty {
            for row in try tx.query(
                """
                SELECT p.model_id, p.ext_id, p.shadow FROM predictions p
                JOIN unnest(\(unread.map(\.model)), \(unread.map { ByteBuffer.utf8($0.id) })) AS k(m, e)
                    ON p.model_id = k.m AND p.ext_id = k.e
                """
            ).rows {
                guard let m = try row.int64(0), let e = try row.utf8(1), let shadow = try row.bool(2) else { continue }
                stored.insert(RowKey(model: m, id: e, shadow: shadow))
            }
        }
        if predictions > 0 { freeRowIDs = try take(predictions, from: "predictions", column: "id") }
    }

    /// `count` numbers of the identity sequence of `table.column`, ascending.
    private func take(_ count: Int, from table: String, column: String) throws -> ArraySlice<Int64> {
        var query = PostgresQuery(unsafeSQL: "SELECT nextval(pg_get_serial_sequence('\(table)', '\(column)')) FROM generate_series(1, $1)")
        query.binds.append(count)
        return ArraySlice(try tx.query(query).rows.compactMap { try $0.int64(0) }.sorted())
    }

    private mutating func nextRowID() throws -> Int64 {
        if freeRowIDs.isEmpty { freeRowIDs = try take(16, from: "predictions", column: "id") }
        return freeRowIDs.removeFirst()
    }

    private mutating func nextSeq() throws -> Int64 {
        if freeSeqs.isEmpty {
            freeSeqs = try take(max(16, labelsInGroup), from: "label_journal", column: "seq")
            labelsInGroup = 0
        }
        return freeSeqs.removeFirst()
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

    mutating func insertPrediction(model: Int64, _ prepared: PreparedPrediction, receivedAt: Int64) throws -> Int64? {
        let p = prepared.prediction
        guard stored.insert(RowKey(model: model, id: p.id, shadow: p.isShadow)).inserted else { return nil }
        touched.insert(Key(model: model, id: p.id))
        inserted.insert(RowKey(model: model, id: p.id, shadow: p.isShadow))
        let rowID = try nextRowID()
        pending.predictions.append(
            (rowID, model, p.id, p.isShadow, p.timestamp, receivedAt, p.version, p.variant ?? "", prepared.outputText,
             prepared.payload))
        return rowID
    }

    mutating func labelRows(model: Int64, for label: Label) throws -> (live: StoredRow?, shadow: StoredRow?) {
        let key = Key(model: model, id: label.id)
        let rows: [PGRow]
        if let locked = lockedRows[key], !touched.contains(key) {
            rows = locked
        } else {
            try flush()
            rows = try tx.query(
                """
                SELECT labeled_at, label, label_kind, label_metrics, label_fold, shadow, ts, version, variant, prediction,
                    payload, writer
                FROM predictions WHERE model_id = \(model) AND ext_id = \(ByteBuffer.utf8(label.id))
                ORDER BY shadow FOR UPDATE
                """
            ).rows
        }
        var live: StoredRow?
        var shadow: StoredRow?
        for row in rows {
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
        try flush()
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

    mutating func liveLabel(model: Int64, id: String) throws -> LabelColumns? {
        try flush()
        return try tx.query(
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

    mutating func setLabel(model: Int64, id: String, _ c: LabelColumns, fold: String, shadow: Bool, at now: Int64) throws {
        touched.insert(Key(model: model, id: id))
        // A later write to the same row replaces this one whole (one statement updates a row once).
        pending.labels[RowKey(model: model, id: id, shadow: shadow)] = (c, fold, now, pending.labels.count)
    }

    mutating func journal(
        model: Int64, id: String, _ c: LabelColumns, old: (columns: LabelColumns, fold: String)?, fold: String,
        shadow: Bool
    ) throws -> JournalOutcome {
        let rowKey = RowKey(model: model, id: id, shadow: shadow)
        let owner = owners[rowKey] ?? writer
        guard owner == writer else {
            pending.inbox.append(
                Pending.Change(owner: owner, model: model, id: id, shadow: shadow, label: c, old: old?.columns, fold: fold, oldFold: old?.fold))
            return JournalOutcome(seq: nil)
        }
        // Changes other replicas made to this row come first, in their order. `adoptInbox(nil)`
        // took those of every row `prepare` locked (no other change can reach a locked row), and
        // a row this transaction stored has none; any other row looks for its own.
        let key = Key(model: model, id: id)
        let earlier = lockedRows[key] != nil || inserted.contains(rowKey)
            ? [] : try adoptInbox(rowKey)
        return JournalOutcome(seq: try insertJournal(model: model, id: id, c, old: old, fold: fold, shadow: shadow), earlier: earlier)
    }

    private mutating func insertJournal(
        model: Int64, id: String, _ c: LabelColumns, old: (columns: LabelColumns, fold: String)?, fold: String?,
        shadow: Bool
    ) throws -> Int64 {
        let seq = try nextSeq()
        pending.journal.append(
            Pending.Change(
                seq: seq, model: model, id: id, shadow: shadow, label: c, old: old?.columns, fold: fold,
                oldFold: old?.fold.isEmpty == false ? old?.fold : nil))
        return seq
    }

    /// Journals, as this writer's, the label changes other writers left for its rows (those of
    /// one row, or all), in the order they were made; returns their folds.
    mutating func adoptInbox(_ key: RowKey?) throws -> [CommittedEvent] {
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
        var entries: [(order: Int64, row: PGRow)] = []
        for row in try tx.query(query).rows { entries.append((try row.int64(0) ?? 0, row)) }
        guard !entries.isEmpty else { return [] }
        entries.sort { $0.order < $1.order }
        // The predictions they change, in one statement.
        try flush()
        var keys: [RowKey] = []
        for (_, row) in entries {
            guard let model = try row.int64(1), let id = try row.utf8(2), let shadow = try row.bool(3) else { continue }
            keys.append(RowKey(model: model, id: id, shadow: shadow))
        }
        var predictions: [RowKey: Prediction] = [:]
        let unique = Array(Set(keys))
        for p in try tx.query(
            """
            SELECT p.ext_id, p.ts, p.version, p.variant, p.prediction, p.payload, m.name, p.model_id, p.shadow
            FROM predictions p JOIN models m ON m.id = p.model_id
            JOIN unnest(\(unique.map(\.model)), \(unique.map { ByteBuffer.utf8($0.id) }), \(unique.map(\.shadow))) AS k(m, e, s)
                ON p.model_id = k.m AND p.ext_id = k.e AND p.shadow = k.s
            """
        ).rows {
            guard let name = try p.text(6), let model = try p.int64(7), let shadow = try p.bool(8),
                let prediction = try PostgresStore.prediction(p, model: name, features: false)
            else { continue }
            predictions[RowKey(model: model, id: prediction.id, shadow: shadow)] = prediction
        }
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
            guard let prediction = predictions[RowKey(model: model, id: id, shadow: shadow)],
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

    /// Takes up to `limit` held labels whose live prediction is stored: left by two replicas'
    /// transactions that ran at once, one holding the label while the other stored its
    /// prediction, each blind to the other. Rows another replica is sweeping are skipped. A held
    /// label whose prediction has a label already is older than that label (which arrived after
    /// the prediction was stored) and is dropped, not joined over it.
    mutating func takeJoinableHeldLabels(limit: Int) throws -> [Label] {
        // Labels this group wrote are in the table first, so `labeled_at` below sees them.
        try flush()
        let rows = try tx.query(
            """
            SELECT h.model_id, h.ext_id, h.label, h.label_kind, h.metrics, h.ts, m.name, p.labeled_at IS NULL
            FROM pending_labels h
            JOIN predictions p ON p.model_id = h.model_id AND p.ext_id = h.ext_id AND NOT p.shadow
            JOIN models m ON m.id = h.model_id
            ORDER BY h.model_id, h.ext_id LIMIT \(limit) FOR UPDATE OF h, p SKIP LOCKED
            """
        ).rows
        guard !rows.isEmpty else { return [] }
        var models: [Int64] = []
        var ids: [ByteBuffer] = []
        var labels: [Label] = []
        for row in rows {
            guard let model = try row.int64(0), let id = try row.utf8(1), let name = try row.text(6) else { continue }
            models.append(model)
            ids.append(ByteBuffer.utf8(id))
            guard try row.bool(7) == true else { continue }
            let columns = LabelColumns(text: try row.text(2), kind: try row.int(3), metrics: try row.bytes(4) ?? [0], ts: try row.int64(5))
            if let label = try? columns.label(id: id, model: name) {
                labels.append(label)
            } else {
                context.logger.error("a held label does not decode; it is dropped", metadata: ["model": "\(name)"])
            }
        }
        try tx.query(
            """
            DELETE FROM pending_labels h USING unnest(\(models), \(ids)) AS k(m, e)
            WHERE h.model_id = k.m AND h.ext_id = k.e
            """)
        return labels
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
        try tx.query(
            """
            INSERT INTO model_cores (model_id, writer, schema) VALUES (\(id), \(writer), \(try SchemaRows.coreJSON(schema)))
            ON CONFLICT (model_id, writer) DO UPDATE SET schema = EXCLUDED.schema
            """)
        var seen = Set<String>()
        // One row per key (a statement may upsert a row only once), the last kept.
        let entries = try SchemaRows.takeChangedEntries(&schema).reversed()
            .filter { seen.insert("\($0.kind)\u{0}\($0.name)\u{0}\($0.detail)").inserted }
        guard !entries.isEmpty else { return }
        try tx.query(
            """
            INSERT INTO model_entries (model_id, writer, kind, name, detail, value)
            SELECT \(id), \(writer), k, n, d, v
            FROM unnest(\(entries.map(\.kind)), \(entries.map(\.name)), \(entries.map(\.detail)), \(entries.map(\.value)))
                AS u(k, n, d, v)
            ON CONFLICT (model_id, writer, kind, name, detail) DO UPDATE SET value = EXCLUDED.value
            """)
    }

    /// Writes what collected in `pending`: before a statement reads predictions, and before commit.
    mutating func flush() throws {
        if !pending.predictions.isEmpty { try flushPredictions() }
        if !pending.labels.isEmpty { try flushLabels() }
        if !pending.journal.isEmpty { try flushChanges(pending.journal, into: "label_journal") }
        if !pending.inbox.isEmpty { try flushChanges(pending.inbox, into: "label_inbox") }
        pending = Pending()
    }

    private func flushPredictions() throws {
        // In key order, as `prepare` locks: two replicas inserting the same new ids wait, not deadlock.
        let rows = pending.predictions.sorted { a, b in
            if a.model != b.model { return a.model < b.model }
            if a.id != b.id { return a.id.utf8.lexicographicallyPrecedes(b.id.utf8) }
            return !a.shadow && b.shadow
        }
        do {
            try tx.query(
                """
                INSERT INTO predictions (id, writer, model_id, ext_id, shadow, ts, received_at, version, variant, prediction, payload)
                OVERRIDING SYSTEM VALUE
                SELECT i, \(writer), m, e, s, t, r, v, NULLIF(va, ''), o, pl
                FROM unnest(\(rows.map(\.rowID)), \(rows.map(\.model)), \(rows.map { ByteBuffer.utf8($0.id) }), \(rows.map(\.shadow)),
                    \(rows.map(\.ts)), \(rows.map(\.receivedAt)), \(rows.map(\.version)), \(rows.map(\.variant)),
                    \(rows.map(\.output)), \(rows.map { ByteBuffer.bytes($0.payload) }))
                    AS u(i, m, e, s, t, r, v, va, o, pl)
                """)
        } catch where PGFault.sqlState(error) == "23505" {
            // Another replica stored one of these ids since `prepare` looked: run again (it is a duplicate then).
            throw PGFault.RacedInsert()
        }
    }

    private func flushLabels() throws {
        let rows = pending.labels.sorted { $0.value.order < $1.value.order }
        let c = rows.map(\.value.columns)
        try tx.query(
            """
            UPDATE predictions p SET label = CASE WHEN u.lp THEN u.l END, label_kind = CASE WHEN u.kp THEN u.k::integer END,
                label_metrics = u.mt, label_ts = CASE WHEN u.tp THEN u.t END, labeled_at = u.a, label_fold = u.f
            FROM unnest(\(rows.map(\.key.model)), \(rows.map { ByteBuffer.utf8($0.key.id) }), \(rows.map(\.key.shadow)),
                \(c.map { $0.text ?? "" }), \(c.map { $0.text != nil }), \(c.map { $0.kind ?? 0 }), \(c.map { $0.kind != nil }),
                \(c.map { ByteBuffer.bytes($0.metrics) }), \(c.map { $0.ts ?? 0 }), \(c.map { $0.ts != nil }),
                \(rows.map(\.value.at)), \(rows.map(\.value.fold)))
                AS u(m, e, s, l, lp, k, kp, mt, t, tp, a, f)
            WHERE p.model_id = u.m AND p.ext_id = u.e AND p.shadow = u.s
            """)
    }

    /// Journal entries (with their numbers) or inbox entries (numbered by insertion, in order).
    private func flushChanges(_ changes: [Pending.Change], into table: String) throws {
        let journal = table == "label_journal"
        let c = changes.map(\.label)
        let o = changes.map(\.old)
        try tx.query(
            """
            INSERT INTO \(unescaped: table) (\(unescaped: journal ? "seq, writer" : "owner, written_by"), model_id, ext_id, shadow,
                label, label_kind, metrics, old_present, old_label, old_kind, old_metrics, fold, old_fold)
            \(unescaped: journal ? "OVERRIDING SYSTEM VALUE" : "")
            SELECT \(unescaped: journal ? "q, w" : "w, b"), m, e, s, CASE WHEN lp THEN l END,
                CASE WHEN kp THEN k::integer END, mt, op, CASE WHEN op AND olp THEN ol END,
                CASE WHEN op AND okp THEN ok::integer END, CASE WHEN op THEN om END, CASE WHEN fp THEN f END,
                CASE WHEN ofp THEN ofo END
            FROM unnest(\(changes.map(\.seq)), \(changes.map { journal ? writer : $0.owner }), \(changes.map { _ in writer }),
                \(changes.map(\.model)),
                \(changes.map { ByteBuffer.utf8($0.id) }), \(changes.map(\.shadow)),
                \(c.map { $0.text ?? "" }), \(c.map { $0.text != nil }), \(c.map { $0.kind ?? 0 }), \(c.map { $0.kind != nil }),
                \(c.map { ByteBuffer.bytes($0.metrics) }), \(o.map { $0 != nil }),
                \(o.map { $0?.text ?? "" }), \(o.map { $0?.text != nil }), \(o.map { $0?.kind ?? 0 }), \(o.map { $0?.kind != nil }),
                \(o.map { ByteBuffer.bytes($0?.metrics ?? []) }), \(changes.map { $0.fold ?? "" }), \(changes.map { $0.fold != nil }),
                \(changes.map { $0.oldFold ?? "" }), \(changes.map { $0.oldFold != nil }))
                WITH ORDINALITY AS u(q, w, b, m, e, s, l, lp, k, kp, mt, op, ol, olp, ok, okp, om, f, fp, ofo, ofp, n)
            ORDER BY n
            """)
    }

    /// What this transaction wrote that is not in the database yet.
    struct Pending {
        typealias Row = (
            rowID: Int64, model: Int64, id: String, shadow: Bool, ts: Int64, receivedAt: Int64, version: String,
            variant: String, output: String, payload: [UInt8]
        )
        /// A label journal entry (`seq`) or an inbox entry for the row's `owner`.
        struct Change {
            var seq: Int64 = 0
            var owner: String = ""
            var model: Int64
            var id: String
            var shadow: Bool
            var label: LabelColumns
            var old: LabelColumns?
            var fold: String?
            var oldFold: String?
        }
        var predictions: [Row] = []
        /// The label each row holds at the end of the transaction, and when it was last written.
        var labels: [RowKey: (columns: LabelColumns, fold: String, at: Int64, order: Int)] = [:]
        var journal: [Change] = []
        var inbox: [Change] = []
    }

    /// A label's columns from a row with `label, label_kind, metrics, ts`.
    private static func columns(_ row: PGRow) throws -> LabelColumns {
        LabelColumns(text: try row.text(0), kind: try row.int(1), metrics: try row.bytes(2) ?? [0], ts: try row.int64(3))
    }

    private static func held(_ row: PGRow) throws -> HeldLabel {
        HeldLabel(columns: try columns(row), receivedAt: try row.int64(4) ?? 0)
    }
}
