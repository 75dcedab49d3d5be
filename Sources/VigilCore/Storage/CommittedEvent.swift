/// An event a store committed, as the engine folds it: a new prediction, or a label joined to
/// its prediction. Ordered within its writer by `rowID` (predictions) and `seq` (label changes).
public enum CommittedEvent: Sendable {
    /// A newly stored prediction and its row id.
    case prediction(Prediction, rowID: Int64)
    /// A label joined to its prediction, folded with `folding`, replacing `replacing` (with the
    /// folding it was applied with), if any; and its journal number. Boxed (`indirect`) so the
    /// far more frequent prediction events stay small in the fold queue.
    indirect case label(
        Label, folding: LabelFolding, prediction: Prediction, replacing: (label: Label, folding: LabelFolding)?,
        seq: Int64)
}
