import Foundation
import NIOCore
import PostgresNIO
import VigilCore
import VigilStorage

// Partial buckets keyed by writer: this replica flushes only its own, and reads merge everyone's.

extension PostgresStore: BucketStore {
    /// Other replicas flush partials into the same table.
    public var sharesBuckets: Bool { true }

    public func loadPartials(hoursSince: Int64) throws -> (buckets: [(BucketID, BucketAggregate)], watermark: FoldWatermark) {
        var names = modelNames()
        var buckets: [(BucketID, BucketAggregate)] = []
        for row in try loader.query(
            """
            SELECT model_id, version, variant, resolution, start, data FROM buckets
            WHERE writer = \(writer) AND (resolution = 1 OR start >= \(hoursSince))
            """
        ).rows {
            guard let (id, bucket) = try bucket(row, &names) else {
                try quarantineBucket(row, writer: writer)
                continue
            }
            buckets.append((id, bucket))
        }
        let state = try loader.query(
            "SELECT prediction_watermark, label_watermark FROM writer_watermarks WHERE writer = \(writer)"
        ).first
        let watermark = FoldWatermark(predictions: try state?.int64(0) ?? 0, labels: try state?.int64(1) ?? 0)
        return (buckets, watermark)
    }

    /// A bucket row (`model_id, version, variant, resolution, start, data`), or `nil` when it does not decode.
    func bucket(_ row: PGRow, _ names: inout [Int64: String]) throws -> (BucketID, BucketAggregate)? {
        guard let model = try modelName(try row.int64(0), &names), let version = try row.text(1),
            let variant = try row.text(2), let resolution = Resolution(rawValue: try row.int(3) ?? 0),
            let start = try row.int64(4), let data = try row.bytes(5), let bucket = BucketAggregate.decode(data)
        else { return nil }
        return (BucketID(series: SeriesKey(model: model, version: version, variant: variant), resolution: resolution, start: start), bucket)
    }

    /// Moves an unreadable bucket row aside and deletes it, so the next flush writes it afresh.
    private func quarantineBucket(_ row: PGRow, writer: String) throws {
        let (model, version, variant) = (try row.int64(0) ?? 0, try row.text(1) ?? "", try row.text(2) ?? "")
        let (resolution, start) = (try row.int(3) ?? 0, try row.int64(4) ?? 0)
        let key = "\(writer)/\(model)/\(version)/\(variant)/\(resolution)/\(start)"
        try loader.transaction { tx in
            try tx.query(
                """
                INSERT INTO quarantine (source, source_key, reason, data, quarantined_at)
                VALUES ('buckets', \(key), 'bucket does not decode', \(try row.bytes(5).map(ByteBuffer.bytes)), \(clock.now))
                ON CONFLICT DO NOTHING
                """)
            try tx.query(
                """
                DELETE FROM buckets WHERE writer = \(writer) AND model_id = \(model) AND version = \(version)
                    AND variant = \(variant) AND resolution = \(resolution) AND start = \(start)
                """)
        }
        logger.error("unreadable row quarantined", metadata: ["table": "buckets", "key": "\(key)"])
    }

    public func loadBucket(_ id: BucketID) -> BucketLoad {
        guard let model = modelIDs.withLock({ $0[id.series.model] }) else { return .absent }
        for attempt in 0..<3 {
            do {
                var names = modelNames()
                guard
                    let row = try loader.query(
                        """
                        SELECT model_id, version, variant, resolution, start, data FROM buckets
                        WHERE writer = \(writer) AND model_id = \(model) AND version = \(id.series.version)
                            AND variant = \(id.series.variant) AND resolution = \(id.resolution.rawValue) AND start = \(id.start)
                        """
                    ).first
                else { return .absent }
                if let (_, bucket) = try bucket(row, &names) { return .found(bucket) }
                try quarantineBucket(row, writer: writer)
                return .absent
            } catch {
                logger.warning(
                    "reading a stored bucket failed",
                    metadata: ["attempt": "\(attempt + 1)", "error": "\(PGFault.describe(error))"])
                usleep(50_000)
            }
        }
        return .unavailable
    }

    /// Writes a flush in one transaction: this writer's partials, deletions of its rolled-up
    /// minute partials, its watermark, and its journal entries the partials now include.
    public func write(_ flush: PartialFlush) async throws {
        let ids = modelIDs.withLock { $0 }
        let writer = writer
        try await maintenance.transactionOffThread { tx in
            // Many rows per statement: one round trip per 1,000 buckets, not one per bucket.
            let upserts = flush.upserts.compactMap { u in ids[u.id.series.model].map { (u, $0) } }
            for chunk in stride(from: 0, to: upserts.count, by: 1_000) {
                let part = upserts[chunk..<min(chunk + 1_000, upserts.count)]
                try tx.query(
                    """
                    INSERT INTO buckets (writer, model_id, version, variant, resolution, start, predictions, data)
                    SELECT \(writer), * FROM unnest(\(part.map(\.1)), \(part.map(\.0.id.series.version)),
                        \(part.map(\.0.id.series.variant)), \(part.map { $0.0.id.resolution.rawValue }),
                        \(part.map(\.0.id.start)), \(part.map { $0.0.predictions }), \(part.map { ByteBuffer.bytes($0.0.bytes) }))
                    ON CONFLICT (model_id, start, version, variant, resolution, writer)
                    DO UPDATE SET predictions = EXCLUDED.predictions, data = EXCLUDED.data
                    """)
            }
            for d in flush.deletes {
                guard let model = ids[d.series.model] else { continue }
                try tx.query(
                    """
                    DELETE FROM buckets WHERE writer = \(writer) AND model_id = \(model) AND version = \(d.series.version)
                        AND variant = \(d.series.variant) AND resolution = \(d.resolution.rawValue) AND start = \(d.start)
                    """)
            }
            try tx.query(
                """
                INSERT INTO writer_watermarks (writer, prediction_watermark, label_watermark)
                VALUES (\(writer), \(flush.watermark.predictions), \(flush.watermark.labels))
                ON CONFLICT (writer) DO UPDATE SET prediction_watermark = EXCLUDED.prediction_watermark,
                    label_watermark = EXCLUDED.label_watermark
                """)
            try tx.query("DELETE FROM label_journal WHERE writer = \(writer) AND seq <= \(flush.watermark.labels)")
        }
    }

    public func storedSeries() async throws -> [SeriesKey] {
        let names = modelNames()
        return try await reader.read("SELECT DISTINCT model_id, version, variant FROM buckets").rows.compactMap { row in
            guard let model = try row.int64(0).flatMap({ names[$0] }), let version = try row.text(1),
                let variant = try row.text(2)
            else { return nil }
            return SeriesKey(model: model, version: version, variant: variant)
        }
    }

    public func deleteBuckets(before: Int64) async throws -> Int {
        try await maintenance.transactionOffThread { tx in
            try tx.query("DELETE FROM buckets WHERE resolution = 2 AND start < \(before)").affected
        }
    }

    /// Every writer's partials of a model starting in [from, to]; unreadable ones are left out.
    public func partials(model: String, from: Int64, to: Int64) async throws -> [StoredPartial] {
        guard let modelID = try await knownModelID(model) else { return [] }
        let rows = try await reader.read(
            """
            SELECT model_id, version, variant, resolution, start, data, writer FROM buckets
            WHERE model_id = \(modelID) AND start >= \(from) AND start <= \(to)
            """
        ).rows
        var names = modelNames()
        return try rows.compactMap { row in
            guard let (id, bucket) = try bucket(row, &names), let writer = try row.text(6) else { return nil }
            return StoredPartial(writer: writer, id: id, bucket: bucket)
        }
    }
}
