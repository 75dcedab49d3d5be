import VigilCore

/// The state of one write transaction: the schemas it touched (copies, published only after
/// commit) and models it created. Holds the rules of storing events; `rows` is the backend.
package struct WriteSession<Rows: WriteRows> {
    package var rows: Rows
    let context: WriteContext
    let knownIDs: [String: Int64]
    package var schemas: [String: ModelSchema] = [:]
    package var newIDs: [String: Int64] = [:]
    /// What the aggregates must fold of the write being applied, in order.
    var folds: [CommittedEvent] = []

    package init(rows: Rows, context: WriteContext, knownIDs: [String: Int64]) {
        self.rows = rows
        self.context = context
        self.knownIDs = knownIDs
    }

    var config: VigilConfig { context.config }

    package mutating func apply(_ write: EventWrite) throws -> EventWritten {
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
                    context.logger.error(
                        "label rejected: its stored prediction cannot be read",
                        metadata: ["model": "\(label.model)", "record": "\(what)"])
                    return .rejected(.corruptRecord, "the stored prediction of this label cannot be read")
                }
            }
            return .committed(CommittedBatch(outcomes: outcomes, events: folds, sequence: 0))
        case .expire(let now):
            return .expired(try expireLabels(at: now))
        case .ensureModel(let name, let now):
            // A reference upload may create a model, within the same cap as traffic.
            guard admitsModel(name) else { throw ModelLimitReached(limit: config.limits.maxModels) }
            return .modelID(try modelID(name, at: now))
        case .probe(let now):
            try rows.probe(at: now)
            return .probed
        case .sync:
            return .committed(CommittedBatch(outcomes: [], events: [], sequence: 0))
        }
    }

    /// Whether a model may be stored: a known or declared one, or a new one within `limits.max_models`.
    func admitsModel(_ name: String) -> Bool {
        knownIDs[name] != nil || newIDs[name] != nil || config.models[name] != nil
            || knownIDs.count + newIDs.count < config.limits.maxModels
    }

    var modelLimitRejection: ItemOutcome {
        .rejected(
            .modelLimit,
            "Vigil already tracks \(config.limits.maxModels) models (limits.max_models); declare the model in the configuration or raise the limit"
        )
    }

    /// Whether the learned schema admits the prediction's version and variant under `limits`.
    mutating func versionRejection(_ p: Prediction) -> ItemOutcome? {
        let limits = config.limits
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
    func learnsClasses(_ model: String) -> Bool { !context.generativeModels.contains(model) }

    /// The task and positive class a label of `model` is folded with now.
    mutating func folding(_ model: String) -> LabelFolding {
        let config = config.model(model)
        return withSchema(model) { LabelFolding(config: config, schema: $0) }
    }

    mutating func modelID(_ name: String, at now: Int64) throws -> Int64 {
        if let id = knownIDs[name] ?? newIDs[name] { return id }
        let fresh = ModelSchema(name: name, config: config.model(name))
        let id = try rows.createModel(name: name, coreJSON: try SchemaRows.coreJSON(fresh), at: now)
        newIDs[name] = id
        schemas[name] = fresh
        return id
    }

    /// Mutates the working copy of a model's schema in place. (Copying it out and back would
    /// share storage with the dictionary and so copy every learned set on each prediction.)
    mutating func withSchema<T>(_ name: String, _ body: (inout ModelSchema) throws -> T) rethrows -> T {
        if let index = schemas.index(forKey: name) { return try body(&schemas.values[index]) }
        schemas[name] = context.registry.schema(name) ?? ModelSchema(name: name, config: config.model(name))
        return try body(&schemas[name]!)
    }

    /// Writes each touched schema's core and the entries it changed (not the whole schema).
    package mutating func persistSchemas() throws {
        for name in Array(schemas.keys) {
            guard let id = knownIDs[name] ?? newIDs[name] else { continue }
            try rows.writeSchema(&schemas[name]!, id: id)
        }
    }

    // MARK: - Predictions

    private mutating func insert(_ prepared: PreparedPrediction, receivedAt: Int64) throws -> ItemOutcome {
        let p = prepared.prediction
        guard knownIDs[p.model] != nil || admitsModel(p.model) else { return modelLimitRejection }
        if let rejection = versionRejection(p) { return rejection }
        let model = try modelID(p.model, at: receivedAt)
        guard let rowID = try rows.insertPrediction(model: model, prepared, receivedAt: receivedAt) else {
            withSchema(p.model) { $0.counts.duplicatePredictions += 1 }
            return .duplicate
        }
        if p.isShadow { return try insertedShadow(p, rowID: rowID, model: model, at: receivedAt) }
        let learnClasses = learnsClasses(p.model)
        let (admittedAll, counted) = withSchema(p.model) { s in
            (s.observe(p, learnClasses: learnClasses), s.counts.pendingLabels > 0)
        }
        let hasHeldLabels = try rows.mayHoldLabels(model: model, counted: counted)
        // The aggregates fold only what the schema admitted, so their maps obey its caps.
        folds.append(.prediction(admittedAll ? p : withSchema(p.model) { $0.admitted(p) }, rowID: rowID))
        if hasHeldLabels {
            let joined = try joinHeldLabel(
                model: model, prediction: p, ttl: config.model(p.model).labelTTL.millis, now: receivedAt)
            withSchema(p.model) { s in
                guard let joined else { return }
                // Another writer may have held it (then this writer's count never had it).
                s.counts.pendingLabels = max(0, s.counts.pendingLabels - 1)
                if joined { s.counts.labeled += 1 } else { s.counts.expiredLabels += 1 }
            }
        }
        return .accepted
    }

    /// Moves a held label onto the prediction that just arrived, unless it outlived `ttl`.
    /// Returns `nil` when no label was held, `true` when it joined, `false` when it had expired.
    private mutating func joinHeldLabel(model: Int64, prediction p: Prediction, ttl: Int64, now: Int64) throws -> Bool?
    {
        guard let held = try rows.takeHeldLabel(model: model, id: p.id) else { return nil }
        guard held.receivedAt >= now - ttl else { return false }
        let label = try held.columns.label(id: p.id, model: p.model)
        let folding = folding(p.model)
        try rows.setLabel(model: model, id: p.id, held.columns, fold: folding.code, shadow: false, at: now)
        guard let seq = try journal(model: model, label, held.columns, folding: folding, replacing: nil) else {
            return true
        }
        let (foldLabel, foldPrediction) = withSchema(p.model) { ($0.admitted(label), $0.admitted(p)) }
        folds.append(.label(foldLabel, folding: folding, prediction: foldPrediction, replacing: nil, seq: seq))
        return true
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
        let (live, shadow) = try rows.labelRows(model: model, for: label)
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
        let columns = LabelColumns(label)
        try rows.setLabel(model: model, id: label.id, columns, fold: folding.code, shadow: false, at: now)
        if let seq = try journal(model: model, label, columns, folding: folding, replacing: old) {
            let event: CommittedEvent = withSchema(label.model) { s in
                .label(
                    s.admitted(label), folding: folding, prediction: s.admitted(prediction),
                    replacing: old.map { (s.admitted($0.label), $0.folding) }, seq: seq)
            }
            folds.append(event)
        }
        return old == nil ? \.labeled : \.replacedLabels
    }

    /// Holds a label whose prediction has not arrived; `nil` when the same label is held already.
    private mutating func hold(_ label: Label, model: Int64, at now: Int64) throws -> LabelChange {
        var change: LabelChange = \.pendingLabels
        if let held = try rows.heldLabel(model: model, id: label.id, since: nil) {
            if try held.columns.label(id: label.id, model: label.model, timestamp: false).sameTruth(as: label) {
                return nil
            }
            change = \.replacedLabels
        }
        let learnClasses = learnsClasses(label.model)
        withSchema(label.model) { $0.observe(label, learnClasses: learnClasses) }
        try rows.holdLabel(model: model, id: label.id, LabelColumns(label), receivedAt: now)
        return change
    }

    /// Records a label change for the aggregates; returns its journal number, or `nil` when
    /// the writer that stored the row folds it. Changes of the row that writer passed on to this
    /// one are queued to fold first.
    mutating func journal(
        model: Int64, _ label: Label, _ columns: LabelColumns, folding: LabelFolding,
        replacing old: (label: Label, folding: LabelFolding)?, shadow: Bool = false
    ) throws -> Int64? {
        let outcome = try rows.journal(
            model: model, id: label.id, columns, old: old.map { (LabelColumns($0.label), $0.folding.code) },
            fold: folding.code, shadow: shadow)
        folds += outcome.earlier
        return outcome.seq
    }

    // MARK: - Expiry

    private mutating func expireLabels(at now: Int64) throws -> Int {
        var total = 0
        let models = Array(knownIDs.merging(newIDs) { a, _ in a })
        for (name, id) in models
        where (context.registry.schema(name)?.counts.pendingLabels ?? 0) > 0 || schemas[name] != nil {
            let expired = try rows.expireHeld(model: id, before: now - config.model(name).labelTTL.millis)
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
