import Dispatch
import Synchronization
import VigilCore

/// Folds committed batches into the live buckets on one serial queue, off the storage writer
/// and the request tasks, in the writer's commit order: batches arrive as their requests resume,
/// in any order, and wait here until every batch committed before them has arrived.
///
/// Bounded: `admit()` refuses new events while more than `limit` committed events wait
/// (back-pressure: acknowledged events are never dropped, so the queue must not outgrow memory).
package final class FoldQueue: Sendable {
    private struct Order {
        /// The commit sequence folded next.
        var next: Int64 = 1
        /// Batches that arrived before an earlier one, by sequence.
        var held: [Int64: [CommittedEvent]] = [:]
    }

    private let queue = DispatchQueue(label: "vigil.engine.fold", qos: .userInitiated)
    private let order = Mutex(Order())
    private let pending = Atomic<Int>(0)
    private let buckets: LiveBuckets
    package let limit: Int

    package init(buckets: LiveBuckets, limit: Int) {
        self.buckets = buckets
        self.limit = limit
    }

    /// Committed events not yet folded (a gauge).
    package var depth: Int { pending.load(ordering: .relaxed) }

    /// Throws `StorageUnavailable(.overloaded)` while the queue is full.
    package func admit() throws {
        guard depth < limit else { throw StorageUnavailable(.overloaded, retryAfterSeconds: 1) }
    }

    /// Queues a committed batch; folds it and every held batch that follows it in commit order.
    /// A batch with sequence 0 committed nothing.
    package func enqueue(_ batch: CommittedBatch) {
        guard batch.sequence > 0 else { return }
        pending.add(batch.events.count, ordering: .relaxed)
        // Dispatched under the lock, so two enqueuers cannot reorder their dispatches.
        order.withLock { o in
            o.held[batch.sequence] = batch.events
            while let events = o.held.removeValue(forKey: o.next) {
                o.next += 1
                guard !events.isEmpty else { continue }
                queue.async { [self] in
                    buckets.fold(events)
                    pending.subtract(events.count, ordering: .relaxed)
                }
            }
        }
    }

    /// Returns once every batch enqueued so far has been folded (waiting up to a second for an
    /// earlier batch whose request has not handed it over yet).
    package func settled() async {
        for _ in 0..<1_000 {
            await withCheckedContinuation { continuation in queue.async { continuation.resume() } }
            if order.withLock({ $0.held.isEmpty }) { return }

            try? await Task.sleep(for: .milliseconds(1))
        }
    }
}
