/// How far one writer's partial buckets include its events: the last prediction row and the
/// last label change folded. Each writer has its own; a restart replays what follows.
public struct FoldWatermark: Sendable, Hashable {
    public var predictions: Int64
    public var labels: Int64

    public init(predictions: Int64 = 0, labels: Int64 = 0) {
        self.predictions = predictions
        self.labels = labels
    }
}
