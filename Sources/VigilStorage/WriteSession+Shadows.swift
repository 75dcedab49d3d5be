import Foundation
import GRDB
import VigilCore

// Shadow predictions (`variant: shadow`, DESIGN §5) are rows beside the live prediction of the
// same id (`shadow = 1` in the key). A label of that id joins both; a shadow that arrives after
// its label takes the label the live row (or the held label) already has. Shadows change no
// live count: they fold into their own `shadow` series only.

extension WriteSession {
    /// The prediction a stored row holds, from its columns `ts, version, variant, prediction,
    /// payload` at `offset` on (without its features, which a label's fold does not read); a row
    /// that does not decode rejects the label alone.
    func storedPrediction(of label: Label, _ row: RawRow, from offset: Int32) throws -> Prediction {
        guard let timestamp = row.int64(offset), let version = row.text(offset + 1),
            let outputText = row.text(offset + 3), let payload = row.bytes(offset + 4),
            let decoded = Prediction.decode(
                id: label.id, model: label.model, version: version, variant: row.text(offset + 2),
                timestamp: timestamp, outputText: outputText, payload: payload, features: false)
        else { throw StorageError.corruptRecord("prediction '\(label.id)'") }
        return decoded
    }

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
        let (text, kind) = label.valueColumns
        try setLabel(
            model: model, id: label.id, text: text, kind: kind, metrics: label.encodedMetrics(),
            ts: label.timestamp, folding: folding, shadow: true, at: now)
        let seq = try journal(model: model, label, folding: folding, replacing: old, shadow: true)
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
        var state: StoredLabelState?
        try RawStatement(
            db,
            sql: """
                SELECT \(StoredLabelState.columns) FROM predictions
                WHERE model_id = ? AND ext_id = ? AND shadow = 1
                """
        ).forEachRow([.int(model), .text(p.id)]) { state = try StoredLabelState($0, for: label) }
        if let state { try joinShadow(label, prediction: p, state: state, model: model, at: now) }
        return .accepted
    }

    /// The label of a shadow's id: the live row's, or one held for the live prediction (within
    /// its `label_ttl`; it stays held for the live one).
    private func siblingLabel(_ p: Prediction, model: Int64, at now: Int64) throws -> Label? {
        let live = try Row.fetchOne(
            db,
            sql: """
                SELECT label, label_kind, label_metrics AS metrics, label_ts AS ts FROM predictions
                WHERE model_id = ? AND ext_id = ? AND shadow = 0 AND labeled_at IS NOT NULL
                """, arguments: [model, p.id])
        let ttl = store.config.model(p.model).labelTTL.millis
        let held = try live == nil
            ? Row.fetchOne(
                db,
                sql: """
                    SELECT label, label_kind, metrics, ts FROM pending_labels
                    WHERE model_id = ? AND ext_id = ? AND received_at >= ?
                    """, arguments: [model, p.id, now - ttl]) : nil
        guard let row = live ?? held else { return nil }
        let metricsData: Data? = row["metrics"]
        guard let metrics = Label.decodeMetrics(Array(metricsData ?? Data([0]))) else {
            throw StorageError.corruptRecord("label metrics of '\(p.id)'")
        }
        return Label(
            id: p.id, model: p.model, value: Label.value(text: row["label"], kind: row["label_kind"]),
            timestamp: row["ts"], metrics: metrics)
    }
}
