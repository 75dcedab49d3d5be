import Foundation
import NIOCore
import PostgresNIO
import VigilCore
import VigilStorage

extension PostgresStore: AlertStore, Outbox {
    public func loadAlertState() throws -> (active: [Alert], log: [String: [String: NotificationRecord]]) {
        let decoder = JSONDecoder()
        var active: [Alert] = []
        for row in try loader.query("SELECT data FROM alerts WHERE state IN ('pending', 'firing')").rows {
            guard let data = try row.text(0), let alert = try? decoder.decode(Alert.self, from: Data(data.utf8)) else {
                throw StorageError.corruptRecord("alert")
            }
            active.append(alert)
        }
        var log: [String: [String: NotificationRecord]] = [:]
        for row in try loader.query("SELECT notifier, group_key, data FROM notification_log").rows {
            guard let notifier = try row.text(0), let group = try row.text(1), let data = try row.text(2),
                let record = try? decoder.decode(NotificationRecord.self, from: Data(data.utf8))
            else { throw StorageError.corruptRecord("notification log entry") }
            log[notifier, default: [:]][group] = record
        }
        return (active, log)
    }

    /// Writes one evaluation's alert changes, notification log and queued notifications in one
    /// transaction: a crash leaves all of them or none.
    public func save(_ changes: AlertChanges, at now: Int64) async throws {
        guard !changes.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let upserts = try (changes.upserts + changes.resolved).map {
            ($0, String(decoding: try encoder.encode($0), as: UTF8.self))
        }
        let log = try changes.log.map { entry in
            (entry, try entry.record.map { String(decoding: try encoder.encode($0), as: UTF8.self) })
        }
        try await maintenance.transactionOffThread { tx in
            for (alert, json) in upserts {
                try tx.query(
                    """
                    INSERT INTO alerts (fingerprint, active_at, state, resolved_at, data)
                    VALUES (\(alert.fingerprint), \(alert.activeAt), \(alert.state.rawValue), \(alert.resolvedAt), \(json))
                    ON CONFLICT (fingerprint, active_at) DO UPDATE SET state = EXCLUDED.state,
                        resolved_at = EXCLUDED.resolved_at, data = EXCLUDED.data
                    """)
            }
            for alert in changes.dropped {
                try tx.query("DELETE FROM alerts WHERE fingerprint = \(alert.fingerprint) AND active_at = \(alert.activeAt)")
            }
            for (entry, json) in log {
                if let json {
                    try tx.query(
                        """
                        INSERT INTO notification_log (notifier, group_key, data) VALUES (\(entry.notifier), \(entry.group), \(json))
                        ON CONFLICT (notifier, group_key) DO UPDATE SET data = EXCLUDED.data
                        """)
                } else {
                    try tx.query("DELETE FROM notification_log WHERE notifier = \(entry.notifier) AND group_key = \(entry.group)")
                }
            }
            for item in changes.outbox {
                try tx.query(
                    """
                    INSERT INTO outbox (notifier, body, created_at, next_attempt_at)
                    VALUES (\(item.notifier), \(ByteBuffer.bytes(item.body)), \(now), \(now))
                    """)
            }
        }
    }

    public func alerts(states: [AlertState], limit: Int) async throws -> [Alert] {
        try await reader.read(
            """
            SELECT data FROM alerts WHERE state = ANY(\(states.map(\.rawValue)))
            ORDER BY coalesce(resolved_at, active_at) DESC LIMIT \(limit)
            """
        ).rows.compactMap { row in
            try row.text(0).flatMap { try? JSONDecoder().decode(Alert.self, from: Data($0.utf8)) }
        }
    }

    public func outboxHead(of notifier: String) async throws -> OutboxEntry? {
        try await reader.read(
            """
            SELECT id, notifier, body, created_at, attempts, next_attempt_at FROM outbox
            WHERE state = 0 AND notifier = \(notifier) ORDER BY id LIMIT 1
            """
        ).first.map { row in
            OutboxEntry(
                id: try row.int64(0) ?? 0, notifier: try row.text(1) ?? notifier, body: try row.bytes(2) ?? [],
                createdAt: try row.int64(3) ?? 0, attempts: try row.int(4) ?? 0, nextAttemptAt: try row.int64(5) ?? 0)
        }
    }

    public func pendingBodies(of notifier: String, after id: Int64, limit: Int) async throws -> [[UInt8]] {
        try await reader.read(
            "SELECT body FROM outbox WHERE state = 0 AND notifier = \(notifier) AND id > \(id) ORDER BY id LIMIT \(limit)"
        ).rows.map { try $0.bytes(0) ?? [] }
    }

    public func outboxNotifiers() async throws -> [String] {
        try await reader.read("SELECT DISTINCT notifier FROM outbox WHERE state = 0 ORDER BY notifier").rows.compactMap {
            try $0.text(0)
        }
    }

    public func settle(_ id: Int64, delivered: Bool, retryAt: Int64?, error: String?) async throws {
        try await maintenance.transactionOffThread { tx in
            if delivered {
                try tx.query("DELETE FROM outbox WHERE id = \(id)")
            } else if let retryAt {
                try tx.query(
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = \(retryAt), last_error = \(error) WHERE id = \(id)")
            } else {
                try tx.query("UPDATE outbox SET attempts = attempts + 1, state = 2, last_error = \(error) WHERE id = \(id)")
            }
        }
    }
}

extension PostgresStore: ReferenceStore {
    public func saveReference(_ profile: ReferenceProfile, model: String, at now: Int64) async throws {
        let id = try await modelID(model, at: now)
        let data = ByteBuffer.bytes(profile.encoded())
        try await maintenance.transactionOffThread { tx in
            try tx.query(
                """
                INSERT INTO reference_profiles (model_id, generation, data) VALUES (\(id), \(profile.generation), \(data))
                ON CONFLICT (model_id) DO UPDATE SET generation = EXCLUDED.generation, data = EXCLUDED.data
                """)
        }
    }

    public func loadReferences() throws -> [String: ReferenceProfile] {
        var names = modelNames()
        var out: [String: ReferenceProfile] = [:]
        for row in try loader.query("SELECT model_id, data FROM reference_profiles").rows {
            guard let name = try modelName(try row.int64(0), &names), let data = try row.bytes(1),
                let profile = ReferenceProfile.decode(data)
            else {
                logger.error("a stored reference profile does not decode; the model uses its default reference")
                continue
            }
            out[name] = profile
        }
        return out
    }
}

extension PostgresStore: ReleaseLog {
    /// Entries kept per model; older ones are dropped as new ones arrive.
    static let releaseEventsPerModel = 10_000

    public func record(_ events: [ReleaseEvent]) async throws {
        guard !events.isEmpty else { return }
        try await maintenance.transactionOffThread { tx in
            for e in events {
                try tx.query(
                    """
                    INSERT INTO release_events
                        (at, model, kind, baseline, candidate, "window", verdict, previous, detail, notifier, outcome)
                    VALUES (\(e.at), \(e.model), \(e.kind.rawValue), \(e.baseline), \(e.candidate), \(e.window), \(e.verdict),
                        \(e.previous), \(e.detail), \(e.notifier), \(e.outcome))
                    """)
            }
            for model in Set(events.map(\.model)) {
                try tx.query(
                    """
                    DELETE FROM release_events WHERE model = \(model) AND id <= (
                        SELECT id FROM release_events WHERE model = \(model) ORDER BY id DESC LIMIT 1 OFFSET \(Self.releaseEventsPerModel))
                    """)
            }
        }
    }

    public func releaseEvents(model: String, limit: Int) async throws -> [ReleaseEvent] {
        try await reader.read(
            """
            SELECT at, model, kind, baseline, candidate, "window", verdict, previous, detail, notifier, outcome
            FROM release_events WHERE model = \(model) ORDER BY id DESC LIMIT \(limit)
            """
        ).rows.map { row in
            ReleaseEvent(
                at: try row.int64(0) ?? 0, model: try row.text(1) ?? model,
                kind: ReleaseEvent.Kind(rawValue: try row.text(2) ?? "") ?? .verdict, baseline: try row.text(3),
                candidate: try row.text(4), window: try row.text(5), verdict: try row.text(6), previous: try row.text(7),
                detail: try row.text(8) ?? "", notifier: try row.text(9), outcome: try row.text(10))
        }
    }

    public func lastVerdicts() async throws -> [String: String] {
        var out: [String: String] = [:]
        for row in try await reader.read(
            """
            SELECT DISTINCT ON (model, baseline, candidate, "window") model, baseline, candidate, "window", verdict
            FROM release_events WHERE kind = 'verdict' ORDER BY model, baseline, candidate, "window", id DESC
            """
        ).rows {
            guard let model = try row.text(0), let baseline = try row.text(1), let candidate = try row.text(2),
                let window = try row.text(3), let verdict = try row.text(4)
            else { continue }
            out[ReleaseEvent.comparisonKey(model: model, baseline: baseline, candidate: candidate, window: window)] = verdict
        }
        return out
    }
}
