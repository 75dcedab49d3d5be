import Foundation
import GRDB
import VigilCore

// Partial buckets keyed by writer: the one SQLite writer is `local`.

extension SQLiteStore: BucketStore {
    public var writer: String { Self.localWriter }
    /// One process writes a SQLite file: no other writer's partials to merge.
    public var sharesBuckets: Bool { false }

    /// This writer's stored partials (every minute bucket, hour buckets from `hoursSince`) and watermark.
    public func loadPartials(hoursSince: Int64) throws -> (
        buckets: [(BucketID, BucketAggregate)], watermark: FoldWatermark
    ) {
        let names = modelNames()
        let writer = writer
        let (loaded, unreadable) = try pool.read { db in
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT writer, model_id, version, variant, resolution, start, data FROM buckets
                    WHERE writer = ? AND (resolution = 1 OR start >= ?)
                    """, arguments: [writer, hoursSince])
            var buckets: [(BucketID, BucketAggregate)] = []
            var unreadable: [UnreadableRow] = []
            while let row = try rows.next() {
                guard let id = Self.bucketID(row, names), let bucket = Self.bucket(row) else {
                    // One bad row must not stop start-up: move it aside, rebuild from what follows.
                    unreadable.append(Self.unreadableBucket(row, reason: "bucket does not decode"))
                    continue
                }
                buckets.append((id, bucket))
            }
            let state = try Row.fetchOne(
                db, sql: "SELECT prediction_watermark, label_watermark FROM writer_watermarks WHERE writer = ?",
                arguments: [writer])
            let watermark = FoldWatermark(
                predictions: state?["prediction_watermark"] ?? 0, labels: state?["label_watermark"] ?? 0)
            return ((buckets: buckets, watermark: watermark), unreadable)
        }
        quarantine(unreadable)
        return loaded
    }

    /// Writes a flush in one transaction: partials, deletions of rolled-up minute partials, the
    /// watermark, and the label journal entries the partials now include.
    public func write(_ flush: PartialFlush) async throws {
        let ids = modelIDs.withLock { $0 }
        let writer = writer
        try await pool.write { db in
            let upsert = try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO buckets (writer, model_id, version, variant, resolution, start, predictions, data)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for u in flush.upserts {
                guard let model = ids[u.id.series.model] else { continue }
                try upsert.execute(arguments: [
                    writer, model, u.id.series.version, u.id.series.variant, u.id.resolution.rawValue, u.id.start,
                    u.predictions, Data(u.bytes),
                ])
            }
            let delete = try db.cachedStatement(
                sql: """
                    DELETE FROM buckets
                    WHERE writer = ? AND model_id = ? AND version = ? AND variant = ? AND resolution = ? AND start = ?
                    """)
            for d in flush.deletes {
                guard let model = ids[d.series.model] else { continue }
                try delete.execute(arguments: [
                    writer, model, d.series.version, d.series.variant, d.resolution.rawValue, d.start,
                ])
            }
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO writer_watermarks (writer, prediction_watermark, label_watermark)
                    VALUES (?, ?, ?)
                    """, arguments: [writer, flush.watermark.predictions, flush.watermark.labels])
            try db.execute(sql: "DELETE FROM label_journal WHERE seq <= ?", arguments: [flush.watermark.labels])
        }
    }

    /// Deletes hour partials that started before `before` (aggregate retention); returns how many.
    public func deleteBuckets(before: Int64) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM buckets WHERE resolution = 2 AND start < ?", arguments: [before])
            return db.changesCount
        }
    }

    /// One stored bucket (for a late label on a bucket no longer in memory). A read that fails is
    /// tried three times and then reported as `.unavailable`, never taken for an absent bucket
    /// (folding into an empty one would overwrite the stored history at the next flush); a row
    /// that does not decode is quarantined, and the bucket starts afresh.
    public func loadBucket(_ id: BucketID) -> BucketLoad {
        guard let model = modelIDs.withLock({ $0[id.series.model] }) else { return .absent }
        for attempt in 0..<3 {
            do {
                let row = try pool.read { db in
                    try Row.fetchOne(
                        db,
                        sql: """
                            SELECT writer, model_id, version, variant, resolution, start, data FROM buckets
                            WHERE writer = ? AND model_id = ? AND version = ? AND variant = ? AND resolution = ?
                                AND start = ?
                            """,
                        arguments: [
                            Self.localWriter, model, id.series.version, id.series.variant, id.resolution.rawValue,
                            id.start,
                        ])
                }
                guard let row else { return .absent }
                if let bucket = Self.bucket(row) { return .found(bucket) }
                quarantine([Self.unreadableBucket(row, reason: "bucket does not decode")])
                return .absent
            } catch {
                logger.warning(
                    "reading a stored bucket failed", metadata: ["attempt": "\(attempt + 1)", "error": "\(error)"])
                usleep(50_000)
            }
        }
        return .unavailable
    }

    /// Every writer's partials of a model starting in [from, to] (an unreadable one is left out,
    /// and quarantined at the next start or late label).
    public func partials(model: String, from: Int64, to: Int64) async throws -> [StoredPartial] {
        guard let modelID = modelIDs.withLock({ $0[model] }) else { return [] }
        let names = modelNames()
        return try await pool.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT writer, model_id, version, variant, resolution, start, data FROM buckets
                    WHERE model_id = ? AND start >= ? AND start <= ?
                    """, arguments: [modelID, from, to])
            return rows.compactMap { row in
                guard let id = Self.bucketID(row, names), let bucket = Self.bucket(row) else { return nil }
                return StoredPartial(writer: row["writer"], id: id, bucket: bucket)
            }
        }
    }
}
