import Dispatch
import Synchronization
import VigilCore

/// Serialises writes onto one thread and commits every request that queued while the previous
/// transaction ran in a single transaction (group commit): concurrent requests share one WAL
/// commit instead of paying one each, and each request still resumes only after its commit.
///
/// Bounded: at most `maxQueuedItems` items wait; past that a request is refused at once with
/// `StorageUnavailable(.overloaded)` (the server answers 503 with `Retry-After`), so clients
/// that outpace the disk cannot grow memory without bound. A group that fails for a reason of
/// its own requests (not a storage condition every request would meet) is retried one request
/// at a time, so one poisoned request does not fail the others committed with it.
package final class GroupCommitWriter<Request: Sendable, Response: Sendable>: Sendable {
    private struct Waiting {
        var request: Request
        var weight: Int
        var continuation: CheckedContinuation<Response, any Error>
    }

    private struct State {
        var queue: [Waiting] = []
        var queuedItems = 0
        var draining = false
        var closed = false
    }

    private enum Admission { case closed, full, drain, queued }

    private let state = Mutex(State())
    private let thread = DispatchQueue(label: "vigil.storage.writer", qos: .userInitiated)
    /// Applies a group of requests in one transaction; returns one response per request, in order.
    private let apply: @Sendable ([Request]) throws -> [Response]
    let maxQueuedItems: Int

    package init(maxQueuedItems: Int = .max, apply: @escaping @Sendable ([Request]) throws -> [Response]) {
        self.apply = apply
        self.maxQueuedItems = maxQueuedItems
    }

    /// Items waiting for the writer (a gauge).
    package var queuedItems: Int { state.withLock { $0.queuedItems } }

    /// Queues a request of `weight` items and returns its response once the transaction holding
    /// it committed. Throws `StorageUnavailable(.overloaded)` when the queue is full (a request
    /// larger than the whole queue is still taken when the queue is empty).
    package func submit(_ request: Request, weight: Int = 1) async throws -> Response {
        try await withCheckedThrowingContinuation { continuation in
            let admission = state.withLock { state -> Admission in
                if state.closed { return .closed }
                if state.queuedItems > 0, state.queuedItems + weight > maxQueuedItems { return .full }
                state.queue.append(Waiting(request: request, weight: weight, continuation: continuation))
                state.queuedItems += weight
                if state.draining { return .queued }
                state.draining = true
                return .drain
            }
            switch admission {
            case .closed: continuation.resume(throwing: StorageUnavailable(.shuttingDown, retryAfterSeconds: 5))
            case .full: continuation.resume(throwing: StorageUnavailable(.overloaded, retryAfterSeconds: 1))
            case .drain: thread.async { self.drain() }
            case .queued: break
            }
        }
    }

    /// Refuses new requests and waits until every queued one has committed.
    package func close() {
        state.withLock { $0.closed = true }
        thread.sync {}
        while state.withLock({ $0.draining }) { thread.sync {} }
    }

    private func drain() {
        while true {
            let group = state.withLock { state -> [Waiting] in
                if state.queue.isEmpty {
                    state.draining = false
                    return []
                }
                defer {
                    state.queue.removeAll(keepingCapacity: true)
                    state.queuedItems = 0
                }
                return state.queue
            }
            if group.isEmpty { return }
            commit(group)
        }
    }

    private func commit(_ group: [Waiting]) {
        do {
            let responses = try apply(group.map(\.request))
            for (waiting, response) in zip(group, responses) { waiting.continuation.resume(returning: response) }
        } catch let condition as StorageUnavailable {
            // Disk full, read-only, locked: every request would meet it; all wait it out.
            for waiting in group { waiting.continuation.resume(throwing: condition) }
        } catch {
            guard group.count > 1 else {
                group[0].continuation.resume(throwing: error)
                return
            }
            // Something in one request failed the group: isolate it, commit the rest.
            for waiting in group { commit([waiting]) }
        }
    }
}

/// A new model would pass `limits.max_models` (a reference upload for an unknown model).
public struct ModelLimitReached: Error, Sendable {
    public var limit: Int
}

/// Storage failures that are not SQLite's own.
public enum StorageError: Error, Sendable, CustomStringConvertible {
    case corruptRecord(String)

    public var description: String {
        switch self {
        case .corruptRecord(let what): "corrupt record: \(what)"
        }
    }
}
