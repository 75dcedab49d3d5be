import Logging
import VigilCore

// What every event store's writer shares: the writes it takes, what it answers, and the row
// operations a backend provides so that one `WriteSession` holds the rules (limits, the label
// join, held labels, shadows, learned schemas) for SQLite and PostgreSQL alike.

/// A prediction with its stored columns encoded in the request's task, off the single writer thread.
package struct PreparedPrediction: Sendable {
    package var prediction: Prediction
    package var outputText: String
    package var payload: [UInt8]

    package init(_ prediction: Prediction) {
        self.prediction = prediction
        outputText = prediction.outputText
        payload = prediction.encodedPayload()
    }
}

/// One request to a store's writer.
package enum EventWrite: Sendable {
    case predictions([PreparedPrediction], receivedAt: Int64)
    case labels([Label], receivedAt: Int64)
    case expire(at: Int64)
    case ensureModel(String, at: Int64)
    /// A one-row write that proves the database takes writes again (readiness).
    case probe(at: Int64)
    /// Takes on what other writers left for this one (label changes of its rows), as an
    /// ingest write with no items.
    case sync(at: Int64)
}

/// The writer's answer to one `EventWrite`.
package enum EventWritten: Sendable {
    /// What an ingest write stored; `sequence` is set once its transaction committed.
    case committed(CommittedBatch)
    case expired(Int)
    case modelID(Int64)
    case probed
}

/// Where a label change went: this writer's journal number, and changes other writers made to
/// the same row that this writer folds first (their order is the row's order of changes).
package struct JournalOutcome {
    package var seq: Int64?
    package var earlier: [CommittedEvent]

    package init(seq: Int64?, earlier: [CommittedEvent] = []) {
        self.seq = seq
        self.earlier = earlier
    }
}

/// A label as its columns store it: value text and kind, encoded metrics, event time.
package struct LabelColumns: Sendable {
    package var text: String?
    package var kind: Int?
    package var metrics: [UInt8]
    package var ts: Int64?

    package init(text: String?, kind: Int?, metrics: [UInt8], ts: Int64?) {
        self.text = text
        self.kind = kind
        self.metrics = metrics
        self.ts = ts
    }

    package init(_ label: Label) {
        (text, kind) = label.valueColumns
        metrics = label.encodedMetrics()
        ts = label.timestamp
    }

    /// The label these columns hold, with id and model; a corrupt record when the metrics do not decode.
    package func label(id: String, model: String, timestamp: Bool = true) throws -> Label {
        guard let decoded = Label.decodeMetrics(metrics.isEmpty ? [0] : metrics) else {
            throw StorageError.corruptRecord("label metrics of '\(id)'")
        }
        return Label(
            id: id, model: model, value: Label.value(text: text, kind: kind), timestamp: timestamp ? ts : nil,
            metrics: decoded)
    }
}

/// A label held until its prediction arrives.
package struct HeldLabel: Sendable {
    package var columns: LabelColumns
    package var receivedAt: Int64

    package init(columns: LabelColumns, receivedAt: Int64) {
        self.columns = columns
        self.receivedAt = receivedAt
    }
}

/// A stored prediction row as a label's join reads it: the label it holds and the prediction.
package typealias StoredRow = (state: StoredLabelState, prediction: Prediction)

/// The row operations of one write transaction of a backend. Every call runs inside the
/// transaction the backend opened for the group; nothing is visible to readers until it commits.
package protocol WriteRows {
    /// Whether a new live prediction of `model` looks for a held label of its id; `counted` is
    /// whether this writer's counts say the model has labels held (other writers may hold some).
    mutating func mayHoldLabels(model: Int64, counted: Bool) throws -> Bool
    /// Inserts a model row; returns its id.
    mutating func createModel(name: String, coreJSON: String, at now: Int64) throws -> Int64
    /// Stores a prediction unless `(model, id, shadow)` is stored already; returns the new row's
    /// id, rising in this writer's commit order, or `nil` for a duplicate.
    mutating func insertPrediction(model: Int64, _ prepared: PreparedPrediction, receivedAt: Int64) throws -> Int64?
    /// The live and shadow rows of a label's id, each decoded (a corrupt one throws before
    /// anything is written).
    mutating func labelRows(model: Int64, for label: Label) throws -> (live: StoredRow?, shadow: StoredRow?)
    /// The label state of the shadow row of `label`'s id.
    mutating func shadowLabelState(model: Int64, for label: Label) throws -> StoredLabelState?
    /// The label the live row of `id` holds, if it has one.
    mutating func liveLabel(model: Int64, id: String) throws -> LabelColumns?
    /// The label held for `id`, if one is held (and was received at or after `since`, if given).
    mutating func heldLabel(model: Int64, id: String, since: Int64?) throws -> HeldLabel?
    /// Removes and returns the label held for `id`.
    mutating func takeHeldLabel(model: Int64, id: String) throws -> HeldLabel?
    /// Holds (or replaces the held) label for `id`.
    mutating func holdLabel(model: Int64, id: String, _ columns: LabelColumns, receivedAt: Int64) throws
    /// Writes a label onto a stored row.
    mutating func setLabel(model: Int64, id: String, _ columns: LabelColumns, fold: String, shadow: Bool, at now: Int64)
        throws
    /// Records a label change for the aggregates: in this writer's journal (its number rising in
    /// this writer's commit order), or, for a row another writer stored, for that writer to fold
    /// (then `seq` is `nil` and this writer folds nothing of it).
    mutating func journal(
        model: Int64, id: String, _ columns: LabelColumns, old: (columns: LabelColumns, fold: String)?, fold: String,
        shadow: Bool
    ) throws -> JournalOutcome
    /// Drops labels of `model` held since before `before`; returns how many.
    mutating func expireHeld(model: Int64, before: Int64) throws -> Int
    /// Writes the readiness probe row.
    mutating func probe(at now: Int64) throws
    /// Writes a schema's core and the entries it changed (clearing its changes).
    mutating func writeSchema(_ schema: inout ModelSchema, id: Int64) throws
}

extension WriteRows {
    package func mayHoldLabels(model: Int64, counted: Bool) throws -> Bool { counted }
}

/// What a write session reads of its store.
package struct WriteContext: Sendable {
    package let config: VigilConfig
    package let registry: ModelRegistry
    /// Models declared `generative` (their outputs are not learned as classes).
    package let generativeModels: Set<String>
    package let logger: Logger

    package init(config: VigilConfig, registry: ModelRegistry, logger: Logger) {
        self.config = config
        self.registry = registry
        self.logger = logger
        generativeModels = Set(config.models.filter { $0.value.task == .generative }.keys)
    }
}

/// A label journal entry as a replay reads it, beside the prediction it changed.
package struct JournalEntry {
    package var seq: Int64
    /// The prediction (its features are not read: a label's fold does not use them).
    package var prediction: Prediction
    package var label: LabelColumns
    package var old: LabelColumns?
    package var fold: String?
    package var oldFold: String?

    package init(
        seq: Int64, prediction: Prediction, label: LabelColumns, old: LabelColumns?, fold: String?, oldFold: String?
    ) {
        self.seq = seq
        self.prediction = prediction
        self.label = label
        self.old = old
        self.fold = fold
        self.oldFold = oldFold
    }

    /// The fold the entry stands for, as the schema admits it now; `nil` when its metrics do not decode.
    package func event(registry: ModelRegistry, config: VigilConfig) -> CommittedEvent? {
        let p = prediction
        let schema = registry.schema(p.model)
        let modelConfig = config.model(p.model)
        // Journal entries from before folding was stored: the folding the schema implies now.
        let current = schema.map { LabelFolding(config: modelConfig, schema: $0) }
            ?? LabelFolding(task: modelConfig.task ?? .binary, positiveClass: modelConfig.positiveClass)
        guard var label = try? self.label.label(id: p.id, model: p.model, timestamp: false) else { return nil }
        label = schema?.admitted(label) ?? label
        var replaced: (label: Label, folding: LabelFolding)?
        if let old {
            guard let oldLabel = try? old.label(id: p.id, model: p.model, timestamp: false) else { return nil }
            replaced = (schema?.admitted(oldLabel) ?? oldLabel, oldFold.flatMap(LabelFolding.init(code:)) ?? current)
        }
        return .label(
            label, folding: fold.flatMap(LabelFolding.init(code:)) ?? current, prediction: schema?.admitted(p) ?? p,
            replacing: replaced, seq: seq)
    }
}
