import Foundation
import GRDB
import VigilCore

extension SQLiteStore {
    /// Applies a group of writes in one transaction, then publishes the schemas it changed.
    func apply(_ requests: [EventWrite]) throws -> [EventWritten] {
        let known = modelIDs.withLock { $0 }
        let results: [EventWritten]
        let session: WriteSession<SQLiteWriteRows>
        do {
            (results, session) = try pool.write { db in
                var session = WriteSession(rows: SQLiteWriteRows(db: db), context: context, knownIDs: known)
                let results = try requests.map { try session.apply($0) }
                try session.persistSchemas()
                return (results, session)
            }
        } catch {
            guard let condition = condition(of: error) else { throw error }
            noteCondition(condition, error: error)
            throw condition
        }
        if writeCondition.withLock({ current -> Bool in
            defer { current = nil }
            return current != nil
        }) {
            logger.notice("storage takes writes again")
        }
        registry.publish(session.schemas.values)
        modelIDs.withLock { $0.merge(session.newIDs) { a, _ in a } }
        // Commit order, numbered only now that the transaction is durable (a rolled-back group
        // leaves no gap for the engine to wait on).
        return results.map { result in
            guard case .committed(var batch) = result else { return result }
            batch.sequence = commitSequence.add(1, ordering: .relaxed).newValue
            return .committed(batch)
        }
    }
}
