import Foundation
import VigilCore

/// The label a stored prediction row holds, read by column position (`columns` first in the
/// query) and decoded when the row is read, so that a corrupt one rejects its label before
/// anything of it is written. (GRDB's lookup by name lower-cases the name on every access,
/// which was a tenth of the label join's time on the writer thread.)
struct StoredLabelState {
    static let columns = "labeled_at, label, label_kind, label_metrics, label_fold"
    /// How many columns `columns` names; the query's further columns start here.
    static let width: Int32 = 5

    /// The label the row holds (with the id and model of the label being stored), if any.
    let label: Label?
    /// The code of the folding that label was applied with (`nil` for rows from before it was stored).
    let fold: String?

    /// Reads the row's label columns for a new label `incoming` of the same id.
    init(_ row: RawRow, for incoming: Label) throws {
        fold = row.text(4)
        guard row.int64(0) != nil else {
            label = nil
            return
        }
        guard let metrics = Label.decodeMetrics(row.bytes(3) ?? [0]) else {
            throw StorageError.corruptRecord("label metrics of '\(incoming.id)'")
        }
        label = Label(
            id: incoming.id, model: incoming.model, value: Label.value(text: row.text(1), kind: row.int(2)),
            metrics: metrics)
    }
}
