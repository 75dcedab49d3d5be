import Foundation
import VigilCore

/// The label a stored prediction row holds, read by column position: a query selects
/// `columns` first. (GRDB's lookup by name lower-cases the name on every access, which was a
/// tenth of the label join's time on the writer thread.)
struct StoredLabelState {
    static let columns = "labeled_at, label, label_kind, label_metrics, label_fold"
    /// How many columns `columns` names; the query's further columns start here.
    static let width: Int32 = 5

    var labeledAt: Int64?
    var text: String?
    var kind: Int?
    var metrics: [UInt8]?
    var fold: String?

    init(_ row: RawRow) {
        labeledAt = row.int64(0)
        text = row.text(1)
        kind = row.int(2)
        metrics = row.bytes(3)
        fold = row.text(4)
    }

    /// The label the row holds (for comparison with `label`, whose id and model it takes), or
    /// `nil` when it holds none.
    func label(of label: Label) throws -> Label? {
        guard labeledAt != nil else { return nil }
        guard let decoded = Label.decodeMetrics(metrics ?? [0]) else {
            throw StorageError.corruptRecord("label metrics of '\(label.id)'")
        }
        return Label(id: label.id, model: label.model, value: Label.value(text: text, kind: kind), metrics: decoded)
    }
}
