import Foundation
import GRDB
import Logging
import Testing
import VigilCore

@testable import VigilStorage

/// A store on a fresh temporary SQLite file, removed afterwards.
final class TemporaryStore {
    let directory: URL
    var path: String { directory.appendingPathComponent("vigil.db").path }
    let config: VigilConfig

    init(config: VigilConfig = VigilConfig()) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-storage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.config = config
    }

    func open() throws -> SQLiteStore {
        try SQLiteStore.open(path: path, config: config, logger: Logger(label: "test"))
    }

    deinit { try? FileManager.default.removeItem(at: directory) }
}

@Suite struct SQLiteStoreTests {
    static let t0: Int64 = 1_795_514_400_000

    func prediction(_ id: String, model: String = "fraud", output: String = "fraud", version: String = "v1")
        -> Prediction
    {
        Prediction(
            id: id, model: model, version: version, timestamp: Self.t0, features: [("amount", .number(10))],
            output: .text(output), confidence: 0.8)
    }

    func label(_ id: String, _ value: String, model: String = "fraud") -> Label {
        Label(id: id, model: model, value: .text(value))
    }

    @Test func storesPredictionsAndCountsDuplicates() async throws {
        let tmp = try TemporaryStore()
        let store = try tmp.open()
        let first = try await store.outcomes(
            predictions: [prediction("a"), prediction("b"), prediction("a")], receivedAt: Self.t0)
        #expect(first == [.accepted, .accepted, .duplicate])
        let again = try await store.outcomes(predictions: [prediction("b", output: "ok")], receivedAt: Self.t0)
        #expect(again == [.duplicate])
        let schema = try #require(store.registry.schema("fraud"))
        #expect(schema.counts.predictions == 2 && schema.counts.duplicatePredictions == 2)
        let rows = try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM predictions") }
        #expect(rows == 2)
        store.close()
    }

    @Test func labelAfterItsPredictionJoinsAtOnce() async throws {
        let tmp = try TemporaryStore()
        let store = try tmp.open()
        _ = try await store.outcomes(predictions: [prediction("a")], receivedAt: Self.t0)
        #expect(try await store.outcomes(labels: [label("a", "ok")], receivedAt: Self.t0 + 1) == [.accepted])
        let counts = try #require(store.registry.schema("fraud")).counts
        #expect(counts.labeled == 1 && counts.pendingLabels == 0 && counts.labels == 1)
        let stored = try await store.pool.read { db in
            try String.fetchOne(db, sql: "SELECT label FROM predictions WHERE ext_id = 'a'")
        }
        #expect(stored == "ok")
        store.close()
    }

    @Test func labelBeforeItsPredictionIsHeldThenJoined() async throws {
        let tmp = try TemporaryStore()
        let store = try tmp.open()
        #expect(try await store.outcomes(labels: [label("early", "fraud")], receivedAt: Self.t0) == [.accepted])
        #expect(store.registry.schema("fraud")?.counts.pendingLabels == 1)
        #expect(store.registry.schema("fraud")?.counts.labeled == 0)
        _ = try await store.outcomes(predictions: [prediction("early")], receivedAt: Self.t0 + 60_000)
        let counts = try #require(store.registry.schema("fraud")).counts
        #expect(counts.pendingLabels == 0 && counts.labeled == 1)
        let (held, joined) = try await store.pool.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM pending_labels")!,
                try String.fetchOne(db, sql: "SELECT label FROM predictions WHERE ext_id = 'early'")
            )
        }
        #expect(held == 0 && joined == "fraud")
        store.close()
    }

    @Test func identicalLabelIsADuplicateAndADifferentOneReplaces() async throws {
        let tmp = try TemporaryStore()
        let store = try tmp.open()
        _ = try await store.outcomes(predictions: [prediction("a")], receivedAt: Self.t0)
        _ = try await store.outcomes(labels: [label("a", "ok")], receivedAt: Self.t0)
        #expect(try await store.outcomes(labels: [label("a", "ok")], receivedAt: Self.t0) == [.duplicate])
        #expect(try await store.outcomes(labels: [label("a", "fraud")], receivedAt: Self.t0) == [.accepted])
        // Held labels behave the same way.
        _ = try await store.outcomes(labels: [label("h", "ok")], receivedAt: Self.t0)
        #expect(try await store.outcomes(labels: [label("h", "ok")], receivedAt: Self.t0) == [.duplicate])
        #expect(try await store.outcomes(labels: [label("h", "fraud")], receivedAt: Self.t0) == [.accepted])
        let counts = try #require(store.registry.schema("fraud")).counts
        #expect(
            counts.duplicateLabels == 2 && counts.replacedLabels == 2 && counts.labeled == 1
                && counts.pendingLabels == 1)
        let stored = try await store.pool.read { db in
            (
                try String.fetchOne(db, sql: "SELECT label FROM predictions WHERE ext_id = 'a'"),
                try String.fetchOne(db, sql: "SELECT label FROM pending_labels WHERE ext_id = 'h'")
            )
        }
        #expect(stored.0 == "fraud" && stored.1 == "fraud")
        store.close()
    }

    /// A stored row that does not decode — a live prediction's payload, or the label a shadow
    /// already holds — rejects the new label alone, before anything of it is written: the live
    /// row keeps its label, no journal entry is added, no count moves.
    @Test func aCorruptStoredRowRejectsItsLabelBeforeWritingAnything() async throws {
        let tmp = try TemporaryStore()
        let store = try tmp.open()
        var shadow = prediction("a")
        shadow.variant = SeriesKey.shadow
        _ = try await store.outcomes(predictions: [prediction("a"), shadow, prediction("b")], receivedAt: Self.t0)
        #expect(try await store.outcomes(labels: [label("a", "ok")], receivedAt: Self.t0) == [.accepted])
        try await store.pool.write { db in
            try db.execute(sql: "UPDATE predictions SET label_metrics = x'ff' WHERE ext_id = 'a' AND shadow = 1")
            try db.execute(sql: "UPDATE predictions SET payload = x'ffff' WHERE ext_id = 'b'")
        }
        let before = try #require(store.registry.schema("fraud")).counts
        let journal = { try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM label_journal") } }
        let entries = try await journal()
        let outcomes = try await store.outcomes(
            labels: [label("a", "fraud"), label("b", "ok"), label("c", "ok")], receivedAt: Self.t0)
        let reasons = outcomes.map { outcome -> RejectReason? in
            if case .rejected(let reason, _) = outcome { return reason }
            return nil
        }
        #expect(reasons == [.corruptRecord, .corruptRecord, nil], "\(outcomes)")
        #expect(outcomes[2] == .accepted)  // held: its prediction has not arrived
        let after = try #require(store.registry.schema("fraud")).counts
        #expect(after.labeled == before.labeled && after.replacedLabels == before.replacedLabels)
        #expect(try await journal() == entries)
        let live = try await store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT coalesce(label, '-') FROM predictions WHERE shadow = 0 ORDER BY ext_id")
        }
        #expect(live == ["ok", "-"])
        store.close()
    }

    @Test func heldLabelExpiresAfterItsTTL() async throws {
        var config = VigilConfig()
        var model = ModelConfig()
        model.labelTTL = TimeLength(millis: 3_600_000, text: "1h")
        config.models["fraud"] = model
        let tmp = try TemporaryStore(config: config)
        let store = try tmp.open()
        _ = try await store.outcomes(labels: [label("late", "ok"), label("swept", "ok")], receivedAt: Self.t0)
        // Just inside the TTL nothing expires.
        #expect(try await store.expireLabels(at: Self.t0 + 3_600_000) == 0)
        // A prediction arriving after the TTL does not join, even before a sweep runs.
        _ = try await store.outcomes(predictions: [prediction("late")], receivedAt: Self.t0 + 3_600_001)
        var counts = try #require(store.registry.schema("fraud")).counts
        #expect(counts.labeled == 0 && counts.expiredLabels == 1 && counts.pendingLabels == 1)
        #expect(try await store.expireLabels(at: Self.t0 + 3_600_001) == 1)
        counts = try #require(store.registry.schema("fraud")).counts
        #expect(counts.expiredLabels == 2 && counts.pendingLabels == 0)
        _ = try await store.outcomes(predictions: [prediction("swept")], receivedAt: Self.t0 + 3_600_002)
        #expect(store.registry.schema("fraud")?.counts.labeled == 0)
        store.close()
    }

    @Test func stateSurvivesReopening() async throws {
        let tmp = try TemporaryStore()
        var store = try tmp.open()
        _ = try await store.outcomes(predictions: [prediction("a"), prediction("b", version: "v2")], receivedAt: Self.t0)
        _ = try await store.outcomes(labels: [label("a", "ok"), label("c", "ok")], receivedAt: Self.t0)
        let before = try #require(store.registry.schema("fraud"))
        store.close()
        store = try tmp.open()
        #expect(store.registry.schema("fraud") == before)
        #expect(try await store.outcomes(predictions: [prediction("a")], receivedAt: Self.t0) == [.duplicate])
        _ = try await store.outcomes(predictions: [prediction("c")], receivedAt: Self.t0)
        #expect(store.registry.schema("fraud")?.counts.labeled == 2)
        store.close()
    }

    @Test func concurrentWritersShareCommitsAndLoseNothing() async throws {
        let tmp = try TemporaryStore()
        let store = try tmp.open()
        try await withThrowingTaskGroup(of: [ItemOutcome].self) { group in
            for client in 0..<16 {
                group.addTask {
                    let batch = (0..<50).map { self.prediction("c\(client)-\($0)", model: "m\(client % 3)") }
                    return try await store.outcomes(predictions: batch, receivedAt: Self.t0)
                }
            }
            for try await outcomes in group { #expect(outcomes.allSatisfy { $0 == .accepted }) }
        }
        let total = store.registry.snapshot().values.reduce(0) { $0 + $1.counts.predictions }
        #expect(total == 16 * 50)
        store.close()
    }

    /// A closed store (shutting down) refuses writes as a condition the client can wait out.
    @Test func closedStoreRefusesWrites() async throws {
        let tmp = try TemporaryStore()
        let store = try tmp.open()
        store.close()
        await #expect(throws: StorageUnavailable(.shuttingDown, retryAfterSeconds: 5)) {
            try await store.outcomes(predictions: [prediction("a")], receivedAt: Self.t0)
        }
    }

    @Test func storedPayloadDecodesToTheIngestedPrediction() async throws {
        let tmp = try TemporaryStore()
        let store = try tmp.open()
        let original = Prediction(
            id: "p ü", model: "m", version: "v", variant: "canary", timestamp: Self.t0,
            features: [("a.b c", .number(1.5)), ("k", .category("x"))], output: .number(0.25),
            confidence: nil, scores: [], segments: [("région", "eu")], metrics: [("latency_ms", 4)])
        _ = try await store.outcomes(predictions: [original], receivedAt: Self.t0)
        let row = try await store.pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM predictions") }
        let r = try #require(row)
        let decoded = Prediction.decode(
            id: r["ext_id"], model: "m", version: r["version"], variant: r["variant"],
            timestamp: r["ts"], outputText: r["prediction"], payload: Array(r["payload"] as Data))
        #expect(decoded == original)
        store.close()
    }
}

extension SQLiteStore {
    /// The per-item outcomes of an ingest (these tests look at what was stored, not at folding).
    func outcomes(predictions: [Prediction], receivedAt: Int64) async throws -> [ItemOutcome] {
        try await ingest(predictions: predictions, receivedAt: receivedAt).outcomes
    }

    func outcomes(labels: [Label], receivedAt: Int64) async throws -> [ItemOutcome] {
        try await ingest(labels: labels, receivedAt: receivedAt).outcomes
    }
}
