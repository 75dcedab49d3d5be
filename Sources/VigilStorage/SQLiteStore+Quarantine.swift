import Foundation
import GRDB

/// A stored row that does not decode: moved aside into `quarantine` instead of stopping
/// start-up or being overwritten, logged, and followed by one `PRAGMA quick_check`.
struct UnreadableRow: Sendable {
    /// The table the row came from.
    var source: String
    /// The row's key in that table.
    var key: String
    var reason: String
    var data: Data?
    /// Deletes the row from its table (a bucket or profile rebuilt from events); `nil` keeps it.
    var delete: (@Sendable (Database) throws -> Void)?
}

extension SQLiteStore {
    /// Copies the rows into `quarantine` (once per source and key), deletes those meant to be
    /// rebuilt, logs each, and reports what `PRAGMA quick_check` says of the file.
    func quarantine(_ rows: [UnreadableRow]) {
        guard !rows.isEmpty else { return }
        let now = clock.now
        do {
            try pool.writeWithoutTransaction { db in
                try db.inTransaction {
                    for row in rows {
                        try db.execute(
                            sql: """
                                INSERT OR IGNORE INTO quarantine (source, source_key, reason, data, quarantined_at)
                                VALUES (?, ?, ?, ?, ?)
                                """, arguments: [row.source, row.key, row.reason, row.data, now])
                        try row.delete?(db)
                    }
                    return .commit
                }
            }
        } catch {
            logger.error("quarantining unreadable rows failed", metadata: ["error": "\(error)"])
        }
        for row in rows {
            logger.error(
                "unreadable row quarantined",
                metadata: ["table": "\(row.source)", "key": "\(row.key)", "reason": "\(row.reason)"])
        }
        let check = (try? pool.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check(20)") }) ?? ["failed"]
        if check == ["ok"] {
            logger.notice("PRAGMA quick_check: ok (the file is sound; the rows themselves were unreadable)")
        } else {
            logger.critical(
                "PRAGMA quick_check reports damage; restore from a backup or rebuild",
                metadata: ["quick_check": "\(check.joined(separator: "; "))"])
        }
    }

    /// The quarantine row of a bucket, deleting the bucket so a flush writes a fresh one.
    static func unreadableBucket(_ row: Row, reason: String) -> UnreadableRow {
        let (model, version, variant): (Int64, String, String) = (row["model_id"], row["version"], row["variant"])
        let (resolution, start, writer): (Int, Int64, String) = (row["resolution"], row["start"], row["writer"])
        return UnreadableRow(
            source: "buckets", key: "\(writer)/\(model)/\(version)/\(variant)/\(resolution)/\(start)", reason: reason,
            data: row["data"]
        ) { db in
            try db.execute(
                sql: """
                    DELETE FROM buckets
                    WHERE writer = ? AND model_id = ? AND version = ? AND variant = ? AND resolution = ? AND start = ?
                    """, arguments: [writer, model, version, variant, resolution, start])
        }
    }
}
