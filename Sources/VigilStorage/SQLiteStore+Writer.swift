import Foundation
import GRDB
import VigilCore

extension SQLiteStore {
    /// Applies a group of writes in one transaction, then publishes the schemas it changed.
    func apply(_ requests: [Write]) throws -> [Written] {
        let known = modelIDs.withLock { $0 }
        let results: [Written]
        let session: WriteSession
        do {
            (results, session) = try pool.write { db in
                var session = WriteSession(db: db, store: self, knownIDs: known)
                let results = try requests.map { try session.apply($0) }
                try session.persistSchemas()
                return (results, session)
            }
        } catch {
            guard let condition = condition(of: error) else { throw error }
            noteCondition(condition, error: error)
            throw condition
        }
        if writeCondition.withLock({ current -> Bool in
            defer { current = nil }
            return current != nil
        }) {
            logger.notice("storage takes writes again")
        }
        registry.publish(session.schemas.values)
        modelIDs.withLock { $0.merge(session.newIDs) { a, _ in a } }
        // Commit order, numbered only now that the transaction is durable (a rolled-back group
        // leaves no gap for the engine to wait on).
        return results.map { result in
            guard case .committed(var batch) = result else { return result }
            batch.sequence = commitSequence.add(1, ordering: .relaxed).newValue
            return .committed(batch)
        }
    }
}

/// The state of one write transaction: the schemas it touched (copies, published only after
/// commit) and models it created.
struct WriteSession {
    let db: Database
    let store: SQLiteStore
    let knownIDs: [String: Int64]
    var schemas: [String: ModelSchema] = [:]
    var newIDs: [String: Int64] = [:]
    /// What the aggregates must fold of the write being applied, in order.
    var folds: [CommittedEvent] = []
    /// The per-event statements, prepared once per transaction.
    let hot: HotStatements

    init(db: Database, store: SQLiteStore, knownIDs: [String: Int64]) {
        self.db = db
        self.store = store
        self.knownIDs = knownIDs
        hot = HotStatements(db)
    }

    mutating func apply(_ write: SQLiteStore.Write) throws -> SQLiteStore.Written {
        switch write {
        case .predictions(let predictions, let receivedAt):
            folds = []
            let outcomes = try predictions.map { try insert($0, receivedAt: receivedAt) }
            return .committed(CommittedBatch(outcomes: outcomes, events: folds, sequence: 0))
        case .labels(let labels, let receivedAt):
            folds = []
            // Outcomes first: `committed` must read `folds` after the labels appended theirs.
            let outcomes = try labels.map { label in
                do {
                    return try store(label, receivedAt: receivedAt)
                } catch StorageError.corruptRecord(let what) {
                    // Nothing of this label was written yet: reject it alone, keep the rest.
                    store.logger.error(
                        "label rejected: its stored prediction cannot be read",
                        metadata: ["model": "\(label.model)", "record": "\(what)"])
                    return .rejected(.corruptRecord, "the stored prediction of this label cannot be read")
                }
            }
            return committed(outcomes)
        case .expire(let now):
            return .expired(try expireLabels(at: now))
        case .ensureModel(let name, let now):
            // A reference upload may create a model, within the same cap as traffic.
            guard admitsModel(name) else { throw ModelLimitReached(limit: store.config.limits.maxModels) }
            return .modelID(try modelID(name, at: now))
        case .probe(let now):
            try db.execute(sql: "INSERT OR REPLACE INTO health (id, probed_at) VALUES (1, ?)", arguments: [now])
            return .probed
        }
    }

    /// The current write's outcomes with the events it produced.
    func committed(_ outcomes: [ItemOutcome]) -> SQLiteStore.Written {
        .committed(CommittedBatch(outcomes: outcomes, events: folds, sequence: 0))
    }

    /// Whether a model may be stored: a known or declared one, or a new one within `limits.max_models`.
    func admitsModel(_ name: String) -> Bool {
        knownIDs[name] != nil || newIDs[name] != nil || store.config.models[name] != nil
            || knownIDs.count + newIDs.count < store.config.limits.maxModels
    }

    var modelLimitRejection: ItemOutcome {
        .rejected(
            .modelLimit,
            "Vigil already tracks \(store.config.limits.maxModels) models (limits.max_models); declare the model in the configuration or raise the limit"
        )
    }

    /// Whether the learned schema admits the prediction's version and variant under `limits`.
    mutating func versionRejection(_ p: Prediction) -> ItemOutcome? {
        let limits = store.config.limits
        return withSchema(p.model) { s -> ItemOutcome? in
            if s.versions[p.version] == nil, s.versions.count >= limits.maxVersions {
                s.overflow["versions", default: 0] += 1
                return .rejected(
                    .versionLimit,
                    "model '\(p.model)' already has \(limits.maxVersions) versions (limits.max_versions)")
            }
            if let variant = p.variant, s.variants[variant] == nil, s.variants.count >= limits.maxVariants {
                s.overflow["variants", default: 0] += 1
                return .rejected(
                    .variantLimit,
                    "model '\(p.model)' already has \(limits.maxVariants) variants (limits.max_variants)")
            }
            return nil
        }
    }

    /// Whether the model's classes are learned (not for generative models, whose outputs are text).
    func learnsClasses(_ model: String) -> Bool { !store.generativeModels.contains(model) }

    /// The task and positive class a label of `model` is folded with now.
    mutating func folding(_ model: String) -> LabelFolding {
        let config = store.config.model(model)
        return withSchema(model) { LabelFolding(config: config, schema: $0) }
    }

    mutating func modelID(_ name: String, at now: Int64) throws -> Int64 {
        if let id = knownIDs[name] ?? newIDs[name] { return id }
        let fresh = ModelSchema(name: name, config: store.config.model(name))
        try db.execute(
            sql: "INSERT INTO models (name, created_at, schema) VALUES (?, ?, ?)",
            arguments: [name, now, try SchemaRows.coreJSON(fresh)])
        let id = db.lastInsertedRowID
        newIDs[name] = id
        schemas[name] = fresh
        return id
    }

    /// Mutates the working copy of a model's schema in place. (Copying it out and back would
    /// share storage with the dictionary and so copy every learned set on each prediction.)
    mutating func withSchema<T>(_ name: String, _ body: (inout ModelSchema) throws -> T) rethrows -> T {
        if let index = schemas.index(forKey: name) { return try body(&schemas.values[index]) }
        schemas[name] = store.registry.schema(name) ?? ModelSchema(name: name, config: store.config.model(name))
        return try body(&schemas[name]!)
    }

    /// Writes each touched schema's core and the entries it changed (not the whole schema).
    mutating func persistSchemas() throws {
        for name in Array(schemas.keys) {
            guard let id = knownIDs[name] ?? newIDs[name] else { continue }
            try SchemaRows.write(&schemas[name]!, id: id, db)
        }
    }

    // MARK: - Predictions

    private mutating func insert(_ prepared: SQLiteStore.PreparedPrediction, receivedAt: Int64) throws -> ItemOutcome {
        let p = prepared.prediction
        guard knownIDs[p.model] != nil || admitsModel(p.model) else { return modelLimitRejection }
        if let rejection = versionRejection(p) { return rejection }
        let model = try modelID(p.model, at: receivedAt)
        let shadow = p.isShadow
        try hot(.insertPrediction).run([
            .int(model), .text(p.id), .int(p.timestamp), .int(receivedAt), .text(p.version), .text(p.variant),
            .int(shadow ? 1 : 0), .text(prepared.outputText), .blob(prepared.payload),
        ])
        if db.changesCount == 0 {
            withSchema(p.model) { $0.counts.duplicatePredictions += 1 }
            return .duplicate
        }
        let rowID = db.lastInsertedRowID
        if shadow { return try insertedShadow(p, rowID: rowID, model: model, at: receivedAt) }
        let learnClasses = learnsClasses(p.model)
        let (admittedAll, hasHeldLabels) = withSchema(p.model) { s in
            (s.observe(p, learnClasses: learnClasses), s.counts.pendingLabels > 0)
        }
        // The aggregates fold only what the schema admitted, so their maps obey its caps.
        folds.append(.prediction(admittedAll ? p : withSchema(p.model) { $0.admitted(p) }, rowID: rowID))
        if hasHeldLabels {
            let joined = try joinHeldLabel(
                model: model, prediction: p, ttl: store.config.model(p.model).labelTTL.millis, now: receivedAt)
            withSchema(p.model) { s in
                guard let joined else { return }
                s.counts.pendingLabels -= 1
                if joined { s.counts.labeled += 1 } else { s.counts.expiredLabels += 1 }
            }
        }
        return .accepted
    }

    /// Moves a held label onto the prediction that just arrived, unless it outlived `ttl`.
    /// Returns `nil` when no label was held, `true` when it joined, `false` when it had expired.
    private mutating func joinHeldLabel(model: Int64, prediction p: Prediction, ttl: Int64, now: Int64) throws -> Bool?
    {
        let id = p.id
        let select = try db.cachedStatement(
            sql: """
                SELECT label, label_kind, metrics, ts, received_at FROM pending_labels WHERE model_id = ? AND ext_id = ?
                """)
        guard let row = try Row.fetchOne(select, arguments: [model, id]) else { return nil }
        try db.execute(sql: "DELETE FROM pending_labels WHERE model_id = ? AND ext_id = ?", arguments: [model, id])
        let receivedAt: Int64 = row["received_at"]
        guard receivedAt >= now - ttl else { return false }
        let metricsData: Data = row["metrics"]
        guard let metrics = Label.decodeMetrics(Array(metricsData)) else {
            throw StorageError.corruptRecord("held label metrics of '\(id)'")
        }
        let label = Label(
            id: id, model: p.model, value: Label.value(text: row["label"], kind: row["label_kind"]),
            timestamp: row["ts"],
            metrics: metrics)
        let folding = folding(p.model)
        try setLabel(
            model: model, id: id, text: row["label"], kind: row["label_kind"], metrics: Array(metricsData),
            ts: row["ts"], folding: folding, at: now)
        let seq = try journal(model: model, label, folding: folding, replacing: nil)
        let (foldLabel, foldPrediction) = withSchema(p.model) { ($0.admitted(label), $0.admitted(p)) }
        folds.append(.label(foldLabel, folding: folding, prediction: foldPrediction, replacing: nil, seq: seq))
        return true
    }

    func setLabel(
        model: Int64, id: String, text: String?, kind: Int?, metrics: [UInt8], ts: Int64?, folding: LabelFolding,
        shadow: Bool = false, at now: Int64
    ) throws {
        try hot(.setLabel).run([
            .text(text), .int(kind), .blob(metrics), ts.map { .int($0) } ?? .null, .int(now), .text(folding.code),
            .int(model), .text(id), .int(shadow ? 1 : 0),
        ])
    }

    // MARK: - Labels

    /// What a label changes in its model's counts, or that it is a duplicate.
    private typealias LabelChange = WritableKeyPath<ModelSchema.Counts, Int>?

    /// Joins a label to its live prediction (and shadow, if any), or holds it until the
    /// prediction arrives.
    private mutating func store(_ label: Label, receivedAt: Int64) throws -> ItemOutcome {
        guard admitsModel(label.model) else { return modelLimitRejection }
        let model = try modelID(label.model, at: receivedAt)
        // Every row is decoded before anything is written, so an unreadable one rejects only
        // this label. A shadow of this id gets the label too; it does not count in the live
        // model's label totals.
        var live: (state: StoredLabelState, prediction: Prediction)?
        var shadow: (state: StoredLabelState, prediction: Prediction)?
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
        let change: LabelChange
        if let live {
            change = try join(label, to: live.prediction, state: live.state, model: model, at: receivedAt)
        } else {
            change = try hold(label, model: model, at: receivedAt)
        }
        guard let change else {
            withSchema(label.model) { $0.counts.duplicateLabels += 1 }
            return .duplicate
        }
        if let shadow {
            try joinShadow(label, prediction: shadow.prediction, state: shadow.state, model: model, at: receivedAt)
        }
        withSchema(label.model) { s in
            s.counts[keyPath: change] += 1
            s.counts.labels += 1
            s.counts.lastLabelAt = max(s.counts.lastLabelAt ?? receivedAt, receivedAt)
        }
        return .accepted
    }

    /// Writes a label onto its stored live prediction and queues the fold; `nil` for a duplicate.
    private mutating func join(
        _ label: Label, to prediction: Prediction, state: StoredLabelState, model: Int64, at now: Int64
    ) throws -> LabelChange {
        var old: (label: Label, folding: LabelFolding)?
        if let stored = state.label {
            if stored.sameTruth(as: label) { return nil }
            // Rows from before label folding was stored were folded with the folding of the
            // time, which is no longer known; today's is the best guess.
            old = (stored, state.fold.flatMap(LabelFolding.init(code:)) ?? folding(label.model))
        }
        let learnClasses = learnsClasses(label.model)
        withSchema(label.model) { $0.observe(label, learnClasses: learnClasses) }
        let folding = folding(label.model)
        let (text, kind) = label.valueColumns
        try setLabel(
            model: model, id: label.id, text: text, kind: kind, metrics: label.encodedMetrics(),
            ts: label.timestamp, folding: folding, at: now)
        let seq = try journal(model: model, label, folding: folding, replacing: old)
        let event: CommittedEvent = withSchema(label.model) { s in
            .label(
                s.admitted(label), folding: folding, prediction: s.admitted(prediction),
                replacing: old.map { (s.admitted($0.label), $0.folding) }, seq: seq)
        }
        folds.append(event)
        return old == nil ? \.labeled : \.replacedLabels
    }

    /// Holds a label whose prediction has not arrived; `nil` when the same label is held already.
    private mutating func hold(_ label: Label, model: Int64, at now: Int64) throws -> LabelChange {
        let held = try db.cachedStatement(
            sql: "SELECT label, label_kind, metrics FROM pending_labels WHERE model_id = ? AND ext_id = ?")
        var change: LabelChange = \.pendingLabels
        if let row = try Row.fetchOne(held, arguments: [model, label.id]) {
            if try storedLabel(label, row, metricsColumn: "metrics").sameTruth(as: label) { return nil }
            change = \.replacedLabels
        }
        let learnClasses = learnsClasses(label.model)
        withSchema(label.model) { $0.observe(label, learnClasses: learnClasses) }
        let (text, kind) = label.valueColumns
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO pending_labels (model_id, ext_id, label, label_kind, metrics, ts, received_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [model, label.id, text, kind, Data(label.encodedMetrics()), label.timestamp, now])
        return change
    }

    /// The label a row holds, for comparison with a new one.
    private func storedLabel(_ label: Label, _ row: Row, metricsColumn: String) throws -> Label {
        let metricsData: Data? = row[metricsColumn]
        guard let metrics = Label.decodeMetrics(Array(metricsData ?? Data([0]))) else {
            throw StorageError.corruptRecord("label metrics of '\(label.id)'")
        }
        return Label(
            id: label.id, model: label.model, value: Label.value(text: row["label"], kind: row["label_kind"]),
            metrics: metrics)
    }

    /// Records a label change for the aggregates; returns its journal number.
    func journal(
        model: Int64, _ label: Label, folding: LabelFolding, replacing old: (label: Label, folding: LabelFolding)?,
        shadow: Bool = false
    ) throws -> Int64 {
        let (text, kind) = label.valueColumns
        let (oldText, oldKind) = old?.label.valueColumns ?? (nil, nil)
        try hot(.journal).run([
            .int(model), .text(label.id), .text(text), .int(kind), .blob(label.encodedMetrics()), .int(old == nil ? 0 : 1),
            .text(oldText), .int(oldKind), old.map { .blob($0.label.encodedMetrics()) } ?? .null, .text(folding.code),
            .text(old?.folding.code), .int(shadow ? 1 : 0),
        ])
        return db.lastInsertedRowID
    }

    // MARK: - Expiry

    private mutating func expireLabels(at now: Int64) throws -> Int {
        var total = 0
        let models = Array(knownIDs.merging(newIDs) { a, _ in a })
        for (name, id) in models
        where (store.registry.schema(name)?.counts.pendingLabels ?? 0) > 0 || schemas[name] != nil {
            let cutoff = now - store.config.model(name).labelTTL.millis
            try db.execute(
                sql: "DELETE FROM pending_labels WHERE model_id = ? AND received_at < ?", arguments: [id, cutoff])
            let expired = db.changesCount
            guard expired > 0 else { continue }
            withSchema(name) { s in
                s.counts.pendingLabels -= expired
                s.counts.expiredLabels += expired
            }
            total += expired
        }
        return total
    }
}
