import Foundation
import VigilCore

/// The label a stored prediction row holds, decoded when the row is read, so that a corrupt
/// one rejects its label before anything of it is written.
package struct StoredLabelState {
    /// SQLite reads these by column position (`columns` first in the query). (GRDB's lookup by
    /// name lower-cases the name on every access, which was a tenth of the label join's time on
    /// the writer thread.)
    static let columns = "labeled_at, label, label_kind, label_metrics, label_fold"
    /// How many columns `columns` names; the query's further columns start here.
    static let width: Int32 = 5

    /// The label the row holds (with the id and model of the label being stored), if any.
    package let label: Label?
    /// The code of the folding that label was applied with (`nil` for rows from before it was stored).
    package let fold: String?

    /// A row's label columns, for a new label `incoming` of the same id; `labeled` says whether
    /// the row has a label at all.
    package init(labeled: Bool, text: String?, kind: Int?, metrics: [UInt8]?, fold: String?, for incoming: Label) throws
    {
        self.fold = fold
        guard labeled else {
            label = nil
            return
        }
        guard let decoded = Label.decodeMetrics(metrics ?? [0]) else {
            throw StorageError.corruptRecord("label metrics of '\(incoming.id)'")
        }
        label = Label(
            id: incoming.id, model: incoming.model, value: Label.value(text: text, kind: kind), metrics: decoded)
    }

    /// Reads the row's label columns (`columns`, from position 0) for a new label `incoming` of the same id.
    init(_ row: RawRow, for incoming: Label) throws {
        try self.init(
            labeled: row.int64(0) != nil, text: row.text(1), kind: row.int(2), metrics: row.bytes(3), fold: row.text(4),
            for: incoming)
    }
}
