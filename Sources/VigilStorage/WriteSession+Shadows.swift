import VigilCore

// Shadow predictions (`variant: shadow`, DESIGN §5) are rows beside the live prediction of the
// same id (`shadow` in the key). A label of that id joins both; a shadow that arrives after
// its label takes the label the live row (or the held label) already has. Shadows change no
// live count: they fold into their own `shadow` series only.

extension WriteSession {
    /// Sets `label` on the shadow row (replacing the label it had) and queues its fold.
    mutating func joinShadow(
        _ label: Label, prediction: Prediction, state: StoredLabelState, model: Int64, at now: Int64
    ) throws {
        var old: (label: Label, folding: LabelFolding)?
        if let stored = state.label {
            if stored.sameTruth(as: label) { return }
            old = (stored, state.fold.flatMap(LabelFolding.init(code:)) ?? folding(label.model))
        }
        let folding = folding(label.model)
        let columns = LabelColumns(label)
        try rows.setLabel(model: model, id: label.id, columns, fold: folding.code, shadow: true, at: now)
        guard let seq = try journal(model: model, label, columns, folding: folding, replacing: old, shadow: true) else {
            return
        }
        let event: CommittedEvent = withSchema(label.model) { s in
            .label(
                s.admitted(label), folding: folding, prediction: s.admitted(prediction),
                replacing: old.map { (s.admitted($0.label), $0.folding) }, seq: seq)
        }
        folds.append(event)
    }

    /// A shadow just stored: queues its fold and joins the label its id already has, if any.
    mutating func insertedShadow(_ p: Prediction, rowID: Int64, model: Int64, at now: Int64) throws -> ItemOutcome {
        folds.append(.prediction(withSchema(p.model) { $0.admitted(p) }, rowID: rowID))
        guard let label = try siblingLabel(p, model: model, at: now) else { return .accepted }
        if let state = try rows.shadowLabelState(model: model, for: label) {
            try joinShadow(label, prediction: p, state: state, model: model, at: now)
        }
        return .accepted
    }

    /// The label of a shadow's id: the live row's, or one held for the live prediction (within
    /// its `label_ttl`; it stays held for the live one).
    private mutating func siblingLabel(_ p: Prediction, model: Int64, at now: Int64) throws -> Label? {
        let ttl = config.model(p.model).labelTTL.millis
        guard
            let columns = try rows.liveLabel(model: model, id: p.id)
                ?? rows.heldLabel(model: model, id: p.id, since: now - ttl)?.columns
        else { return nil }
        return try columns.label(id: p.id, model: p.model)
    }
}
