import Dispatch
import Synchronization

/// Serialises writes onto one thread and commits every request that queued while the previous
/// transaction ran in a single transaction (group commit): concurrent requests share one WAL
/// commit instead of paying one each, and each request still resumes only after its commit.
final class GroupCommitWriter<Request: Sendable, Response: Sendable>: Sendable {
    private struct Waiting {
        var request: Request
        var continuation: CheckedContinuation<Response, any Error>
    }

    private struct State {
        var queue: [Waiting] = []
        var draining = false
        var closed = false
    }

    private let state = Mutex(State())
    private let thread = DispatchQueue(label: "vigil.storage.writer", qos: .userInitiated)
    /// Applies a group of requests in one transaction; returns one response per request, in order.
    private let apply: @Sendable ([Request]) throws -> [Response]

    init(apply: @escaping @Sendable ([Request]) throws -> [Response]) {
        self.apply = apply
    }

    /// Queues a request and returns its response once the transaction holding it committed.
    func submit(_ request: Request) async throws -> Response {
        try await withCheckedThrowingContinuation { continuation in
            let startDrain = state.withLock { state -> Bool? in
                if state.closed { return nil }
                state.queue.append(Waiting(request: request, continuation: continuation))
                if state.draining { return false }
                state.draining = true
                return true
            }
            switch startDrain {
            case nil: continuation.resume(throwing: StorageError.closed)
            case true?: thread.async { self.drain() }
            case false?: break
            }
        }
    }

    /// Refuses new requests and waits until every queued one has committed.
    func close() {
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
                defer { state.queue.removeAll(keepingCapacity: true) }
                return state.queue
            }
            if group.isEmpty { return }
            do {
                let responses = try apply(group.map(\.request))
                for (waiting, response) in zip(group, responses) { waiting.continuation.resume(returning: response) }
            } catch {
                for waiting in group { waiting.continuation.resume(throwing: error) }
            }
        }
    }
}

/// Storage failures that are not SQLite's own.
public enum StorageError: Error, Sendable, CustomStringConvertible {
    case closed
    case corruptRecord(String)

    public var description: String {
        switch self {
        case .closed: "storage is closed"
        case .corruptRecord(let what): "corrupt record: \(what)"
        }
    }
}
