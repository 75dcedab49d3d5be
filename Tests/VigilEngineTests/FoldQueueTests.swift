import Testing
import VigilCore

@testable import VigilEngine

/// The fold queue folds committed batches in commit order, however their requests hand them
/// over, and pushes back when too many committed events wait.
@Suite struct FoldQueueTests {
    static let t0: Int64 = 1_795_600_800_000

    static func live() -> LiveBuckets {
        let live = LiveBuckets(longestWindow: 3_600_000, makeContext: { _ in FoldContext(task: .binary) })
        live.restore([], watermark: FoldWatermark(), at: t0)
        return live
    }

    static func batch(_ sequence: Int64, rows: ClosedRange<Int64>) -> CommittedBatch {
        let events = rows.map { row -> CommittedEvent in
            .prediction(Prediction(id: "p\(row)", model: "m", timestamp: t0, output: .text("ok")), rowID: row)
        }
        return CommittedBatch(outcomes: events.map { _ in .accepted }, events: events, sequence: sequence)
    }

    static func folded(_ live: LiveBuckets) -> Int {
        live.parts(SeriesSelector(model: "m"), from: t0 - 3_600_000, to: t0 + 3_600_000).parts.map(\.bucket.predictions)
            .reduce(0, +)
    }

    /// A later commit handed over first waits for the earlier one; folded the other way round,
    /// the earlier rows would fall below the watermark and be skipped.
    @Test func batchesFoldInCommitOrder() async {
        let live = Self.live()
        let queue = FoldQueue(buckets: live, limit: 1_000)
        queue.enqueue(Self.batch(2, rows: 4...6))
        queue.enqueue(Self.batch(3, rows: 7...7))
        #expect(queue.depth == 4)
        queue.enqueue(Self.batch(1, rows: 1...3))
        await queue.settled()
        #expect(Self.folded(live) == 7)
        #expect(queue.depth == 0)
        // A write that committed nothing (sequence 0) takes no place in the order.
        queue.enqueue(CommittedBatch(outcomes: [], events: [], sequence: 0))
        queue.enqueue(Self.batch(4, rows: 8...8))
        await queue.settled()
        #expect(Self.folded(live) == 8)
    }

    @Test func aFullQueueRefusesNewEvents() {
        let queue = FoldQueue(buckets: Self.live(), limit: 2)
        #expect(throws: Never.self) { try queue.admit() }
        // Held behind a commit that has not arrived: two events wait.
        queue.enqueue(Self.batch(5, rows: 1...2))
        #expect(throws: StorageUnavailable.self) { try queue.admit() }
    }
}
