import Foundation
import GRDB
import VigilCore

extension SQLiteStore: AlertStore, Outbox {
    /// Active alerts and the notification log, as the last evaluation left them.
    public func loadAlertState() throws -> (active: [Alert], log: [String: [String: NotificationRecord]]) {
        try pool.read { db in
            let decoder = JSONDecoder()
            var active: [Alert] = []
            for data in try String.fetchAll(db, sql: "SELECT data FROM alerts WHERE state IN ('pending', 'firing')") {
                guard let alert = try? decoder.decode(Alert.self, from: Data(data.utf8)) else {
                    throw StorageError.corruptRecord("alert")
                }
                active.append(alert)
            }
            var log: [String: [String: NotificationRecord]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT notifier, group_key, data FROM notification_log") {
                let data: String = row["data"]
                guard let record = try? decoder.decode(NotificationRecord.self, from: Data(data.utf8)) else {
                    throw StorageError.corruptRecord("notification log entry")
                }
                log[row["notifier"], default: [:]][row["group_key"]] = record
            }
            return (active, log)
        }
    }

    /// Writes one evaluation's alert changes, notification log and queued notifications together:
    /// a crash leaves either all of them or none.
    public func save(_ changes: AlertChanges, at now: Int64) async throws {
        guard !changes.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try await pool.write { db in
            let upsert = try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO alerts (fingerprint, active_at, state, resolved_at, data) VALUES (?, ?, ?, ?, ?)
                    """)
            for alert in changes.upserts + changes.resolved {
                try upsert.execute(arguments: [
                    alert.fingerprint, alert.activeAt, alert.state.rawValue, alert.resolvedAt,
                    String(decoding: try encoder.encode(alert), as: UTF8.self),
                ])
            }
            for alert in changes.dropped {
                try db.execute(
                    sql: "DELETE FROM alerts WHERE fingerprint = ? AND active_at = ?",
                    arguments: [alert.fingerprint, alert.activeAt])
            }
            for entry in changes.log {
                if let record = entry.record {
                    try db.execute(
                        sql: "INSERT OR REPLACE INTO notification_log (notifier, group_key, data) VALUES (?, ?, ?)",
                        arguments: [
                            entry.notifier, entry.group, String(decoding: try encoder.encode(record), as: UTF8.self),
                        ])
                } else {
                    try db.execute(
                        sql: "DELETE FROM notification_log WHERE notifier = ? AND group_key = ?",
                        arguments: [entry.notifier, entry.group])
                }
            }
            for item in changes.outbox {
                try db.execute(
                    sql: "INSERT INTO outbox (notifier, body, created_at, next_attempt_at) VALUES (?, ?, ?, ?)",
                    arguments: [item.notifier, Data(item.body), now, now])
            }
        }
    }

    /// Alerts in a state, newest first: resolved history, or active ones.
    public func alerts(states: [AlertState], limit: Int) async throws -> [Alert] {
        let placeholders = states.map { _ in "?" }.joined(separator: ", ")
        let arguments = StatementArguments(states.map(\.rawValue)) + [limit]
        return try await pool.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT data FROM alerts WHERE state IN (\(placeholders))
                    ORDER BY coalesce(resolved_at, active_at) DESC LIMIT ?
                    """, arguments: arguments
            ).compactMap { try? JSONDecoder().decode(Alert.self, from: Data($0.utf8)) }
        }
    }

    // MARK: - Outbox

    /// The oldest pending notification of `notifier`, if any. Delivery is in order per notifier,
    /// so a resolved notification never overtakes its firing one.
    public func outboxHead(of notifier: String) async throws -> OutboxEntry? {
        try await pool.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT id, notifier, body, created_at, attempts, next_attempt_at FROM outbox
                    WHERE state = 0 AND notifier = ? ORDER BY id LIMIT 1
                    """, arguments: [notifier]
            ).map { row in
                let body: Data = row["body"]
                return OutboxEntry(
                    id: row["id"], notifier: row["notifier"], body: Array(body), createdAt: row["created_at"],
                    attempts: row["attempts"], nextAttemptAt: row["next_attempt_at"])
            }
        }
    }

    /// The bodies of a notifier's pending notifications queued after `id` (at most `limit`).
    public func pendingBodies(of notifier: String, after id: Int64, limit: Int) async throws -> [[UInt8]] {
        try await pool.read { db in
            try Data.fetchAll(
                db, sql: "SELECT body FROM outbox WHERE state = 0 AND notifier = ? AND id > ? ORDER BY id LIMIT ?",
                arguments: [notifier, id, limit]
            ).map { Array($0) }
        }
    }

    /// The notifiers with pending notifications.
    public func outboxNotifiers() async throws -> [String] {
        try await pool.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT notifier FROM outbox WHERE state = 0 ORDER BY notifier")
        }
    }

    /// Records a delivery: removed when delivered, rescheduled on a retryable failure, kept as
    /// failed for good on a permanent one.
    public func settle(_ id: Int64, delivered: Bool, retryAt: Int64?, error: String?) async throws {
        try await pool.write { db in
            if delivered {
                try db.execute(sql: "DELETE FROM outbox WHERE id = ?", arguments: [id])
            } else if let retryAt {
                try db.execute(
                    sql: "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
                    arguments: [retryAt, error, id])
            } else {
                try db.execute(
                    sql: "UPDATE outbox SET attempts = attempts + 1, state = 2, last_error = ? WHERE id = ?",
                    arguments: [error, id])
            }
        }
    }
}
