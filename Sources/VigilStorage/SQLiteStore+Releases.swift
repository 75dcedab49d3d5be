import GRDB
import VigilCore

// The release audit trail: verdict changes and action notifiers' answers.

extension SQLiteStore: ReleaseLog {
    /// Entries kept per model; older ones are dropped as new ones arrive.
    static let releaseEventsPerModel = 10_000

    public func record(_ events: [ReleaseEvent]) async throws {
        guard !events.isEmpty else { return }
        try await pool.write { db in
            for e in events {
                try db.execute(
                    sql: """
                        INSERT INTO release_events
                            (at, model, kind, baseline, candidate, window, verdict, previous, detail, notifier, outcome)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        e.at, e.model, e.kind.rawValue, e.baseline, e.candidate, e.window, e.verdict, e.previous,
                        e.detail, e.notifier, e.outcome,
                    ])
            }
            for model in Set(events.map(\.model)) {
                try db.execute(
                    sql: """
                        DELETE FROM release_events WHERE model = ? AND id <= (
                            SELECT id FROM release_events WHERE model = ? ORDER BY id DESC LIMIT 1 OFFSET ?)
                        """, arguments: [model, model, Self.releaseEventsPerModel])
            }
        }
    }

    public func releaseEvents(model: String, limit: Int) async throws -> [ReleaseEvent] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM release_events WHERE model = ? ORDER BY id DESC LIMIT ?",
                arguments: [model, limit]
            ).map { row in
                ReleaseEvent(
                    at: row["at"], model: row["model"], kind: ReleaseEvent.Kind(rawValue: row["kind"]) ?? .verdict,
                    baseline: row["baseline"], candidate: row["candidate"], window: row["window"],
                    verdict: row["verdict"], previous: row["previous"], detail: row["detail"], notifier: row["notifier"],
                    outcome: row["outcome"])
            }
        }
    }

    public func lastVerdicts() async throws -> [String: String] {
        try await pool.read { db in
            var out: [String: String] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT model, baseline, candidate, window, verdict FROM release_events
                    WHERE id IN (SELECT MAX(id) FROM release_events WHERE kind = 'verdict'
                                 GROUP BY model, baseline, candidate, window)
                    """)
            {
                out[ReleaseEvent.comparisonKey(
                    model: row["model"], baseline: row["baseline"], candidate: row["candidate"], window: row["window"])] =
                    row["verdict"]
            }
            return out
        }
    }
}
