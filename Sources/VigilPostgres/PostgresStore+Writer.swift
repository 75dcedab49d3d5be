import Foundation
import NIOCore
import PostgresNIO
import VigilCore
import VigilStorage

extension PostgresStore {
    /// Applies a group of writes in one transaction on the writer's connection, then publishes
    /// the schemas it changed. A transaction that lost a deadlock or serialization race with
    /// another replica runs again (up to three times).
    func apply(_ requests: [EventWrite]) throws -> [EventWritten] {
        var attempt = 0
        while true {
            do {
                return try applyOnce(requests)
            } catch where PGFault.isRetryable(error) && attempt < 3 {
                attempt += 1
                usleep(useconds_t(Int.random(in: 5_000...40_000) * attempt))
                logger.debug("write transaction raced another replica; running it again", metadata: ["attempt": "\(attempt)"])
            } catch {
                guard let condition = PGFault.condition(of: error) else { throw error }
                noteCondition(condition, error: error)
                throw condition
            }
        }
    }

    private func applyOnce(_ requests: [EventWrite]) throws -> [EventWritten] {
        let recovered = try recoverAfterAmbiguousCommit()
        let known = modelIDs.withLock { $0 }
        let writer = writer
        let context = context
        var results: [EventWritten] = []
        var schemas: [String: ModelSchema] = [:]
        var newIDs: [String: Int64] = [:]
        var adopted: [CommittedEvent] = []
        do {
            try writerLink.transaction { tx in
                var rows = PGWriteRows(tx: tx, writer: writer, context: context)
                try rows.prepare(for: requests, known: known)
                // What other replicas left for this one folds before this group's events.
                adopted = try rows.adoptInbox(nil)
                var session = WriteSession(rows: rows, context: context, knownIDs: known)
                results = try requests.map { request in
                    // Each evaluation's sync also joins labels left held beside their prediction.
                    guard case .sync(let now) = request else { return try session.apply(request) }
                    let held = try session.rows.takeJoinableHeldLabels(limit: 1_000)
                    guard !held.isEmpty else { return try session.apply(request) }
                    logger.info("held labels whose prediction another replica stored meanwhile are joined", metadata: ["labels": "\(held.count)"])
                    return try session.apply(.labels(held, receivedAt: now))
                }
                try session.persistSchemas()
                try session.rows.flush()
                schemas = session.schemas
                newIDs = session.newIDs
            }
        } catch {
            // The COMMIT may have happened (the next write looks for its rows first); and events
            // recovered for this group but not handed on are recovered again by the next one.
            if PGFault.isConnectionLevel(error) || !recovered.isEmpty {
                committed.withLock { $0.ambiguous = true }
            }
            throw error
        }
        if writeCondition.withLock({ current -> Bool in
            defer { current = nil }
            return current != nil
        }) {
            logger.notice("storage takes writes again")
        }
        registry.publish(schemas.values)
        modelIDs.withLock { $0.merge(newIDs) { a, _ in a } }
        var events = recovered + adopted
        var handed = false
        let numbered = results.map { result -> EventWritten in
            guard case .committed(var batch) = result else { return result }
            if !handed, !events.isEmpty {
                batch.events = events + batch.events
                events = []
                handed = true
            }
            batch.sequence = commitSequence.add(1, ordering: .relaxed).newValue
            return .committed(batch)
        }
        noteFolded(numbered.flatMap { r -> [CommittedEvent] in
            if case .committed(let b) = r { return b.events }
            return []
        })
        if !events.isEmpty {
            // Nothing in this group is an ingest write to carry them: keep them for the next one.
            committed.withLock { $0.ambiguous = true }
        }
        return numbered
    }

    /// Remembers the newest row id and journal number handed to the engine.
    func noteFolded(_ events: [CommittedEvent]) {
        var row: Int64 = 0
        var seq: Int64 = 0
        for event in events {
            switch event {
            case .prediction(_, let id): row = max(row, id)
            case .label(_, _, _, _, let s): seq = max(seq, s)
            }
        }
        guard row > 0 || seq > 0 else { return }
        committed.withLock {
            $0.row = max($0.row, row)
            $0.seq = max($0.seq, seq)
        }
    }

    /// Where this writer's stored rows end (at start-up, nothing after them was handed on).
    func recoverCommitted() throws {
        let row = try loader.query("SELECT coalesce(max(id), 0) FROM predictions WHERE writer = \(writer)").first
        let seq = try loader.query("SELECT coalesce(max(seq), 0) FROM label_journal WHERE writer = \(writer)").first
        let r = try row?.int64(0) ?? 0
        let s = try seq?.int64(0) ?? 0
        committed.withLock { $0 = (r, s, false) }
    }

    /// After a `COMMIT` whose outcome is unknown: the events this writer stored after the last
    /// ones handed on (that transaction's, if it did commit), for the next batch to carry.
    private func recoverAfterAmbiguousCommit() throws -> [CommittedEvent] {
        let state = committed.withLock { $0 }
        guard state.ambiguous else { return [] }
        var events: [CommittedEvent] = []
        _ = try replay(
            after: FoldWatermark(predictions: state.row, labels: state.seq), batchSize: 10_000, link: writerLink
        ) { events += $0 }
        committed.withLock { $0.ambiguous = false }
        if !events.isEmpty {
            logger.notice(
                "a commit whose outcome was unknown had happened; its events are folded now",
                metadata: ["events": "\(events.count)"])
        }
        return events
    }
}
