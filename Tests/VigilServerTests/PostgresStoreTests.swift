import Foundation
import Logging
import PostgresNIO
import Testing
import VigilCore
import VigilStorage

@testable import VigilPostgres

/// The PostgreSQL store on a real cluster: migrations, the event rules it shares with SQLite,
/// and what changes with several writers on one database (a label joining another replica's
/// prediction, each writer's own replay, partials and watermarks).
@Suite(.serialized, .enabled(if: PostgresCluster.shouldRun)) struct PostgresStoreTests {
    static let t0: Int64 = 1_795_514_400_000

    static func settings(_ url: String, replica: String) throws -> PostgresSettings {
        var config = PostgresConfig()
        config.replicaID = replica
        config.poolSize = 2
        return try PostgresSettings.resolve(config, environment: ["VIGIL_DATABASE_URL": url], hostName: "test")
    }

    static func open(_ url: String, replica: String = "a", config: VigilConfig = VigilConfig()) throws -> PostgresStore {
        try PostgresStore.open(settings: settings(url, replica: replica), config: config, logger: Logger(label: "test"))
    }

    func prediction(_ id: String, output: String = "fraud", variant: String? = nil) -> Prediction {
        Prediction(
            id: id, model: "fraud", version: "v1", variant: variant, timestamp: Self.t0,
            features: [("amount", .number(10))], output: .text(output), confidence: 0.8)
    }

    func label(_ id: String, _ value: String) -> Label { Label(id: id, model: "fraud", value: .text(value)) }

    @Test func migrationsApplyOnceAndAreRecorded() throws {
        let cluster = try PostgresCluster.shared()
        let url = try cluster.createDatabase()
        let first = try Self.open(url)
        first.close()
        let second = try Self.open(url)
        second.close()
        let versions = PGMigrations.all.map { "\($0.version)" }.joined(separator: ",")
        #expect(try cluster.psql(url, "SELECT string_agg(version::text, ',' ORDER BY version) FROM vigil_migrations") == versions + "\n")
        // A schema newer than this binary refuses to start rather than guess.
        try cluster.psql(url, "INSERT INTO vigil_migrations (version, name) VALUES (99, 'future')")
        #expect(throws: PostgresSettings.Invalid.self) { try Self.open(url).close() }
    }

    @Test func aReplicaIdInUseByALiveProcessIsRefused() async throws {
        let url = try PostgresCluster.shared().createDatabase()
        let first = try Self.open(url, replica: "a")
        let error = #expect(throws: PostgresSettings.Invalid.self) { try Self.open(url, replica: "a").close() }
        #expect("\(error.map { "\($0)" } ?? "")".contains("in use by another live vigil process"))
        let other = try Self.open(url, replica: "b")
        let identities = """
            SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = \(PGLeadership.identitySpace)
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """
        #expect(try other.loader.query(PostgresQuery(unsafeSQL: identities)).first?.int(0) == 2)
        // A store that closes releases its id before it disconnects (no wait for its server
        // process to exit), so the id is free the moment `close` returns.
        first.close()
        #expect(try other.loader.query(PostgresQuery(unsafeSQL: identities)).first?.int(0) == 1)
        // A leadership check still in flight after `close` does not connect again (and take
        // the id and the lead for a process that stopped).
        #expect(await first.leadership.refresh().leading == false)
        #expect(try other.loader.query(PostgresQuery(unsafeSQL: identities)).first?.int(0) == 1)
        other.close()
        try Self.open(url, replica: "a").close()
    }

    @Test func predictionsAreIdempotentAndLabelsJoinOrWait() async throws {
        let url = try PostgresCluster.shared().createDatabase()
        let store = try Self.open(url)
        defer { store.close() }
        let first = try await store.ingest(
            predictions: [prediction("a"), prediction("b"), prediction("a"), prediction("a\u{0}nul")], receivedAt: Self.t0)
        #expect(first.outcomes == [.accepted, .accepted, .duplicate, .accepted])
        #expect(first.events.count == 3)
        #expect(try await store.ingest(predictions: [prediction("b", output: "ok")], receivedAt: Self.t0).outcomes == [.duplicate])
        // A label joins at once; the same label again is a duplicate; a different one replaces it.
        let joined = try await store.ingest(labels: [label("a", "fraud")], receivedAt: Self.t0 + 1)
        #expect(joined.outcomes == [.accepted])
        guard case .label(_, _, _, let replacing, _) = try #require(joined.events.first) else {
            Issue.record("no label event")
            return
        }
        #expect(replacing == nil)
        #expect(try await store.ingest(labels: [label("a", "fraud")], receivedAt: Self.t0 + 2).outcomes == [.duplicate])
        let corrected = try await store.ingest(labels: [label("a", "ok")], receivedAt: Self.t0 + 3)
        guard case .label(_, _, _, let old, _) = try #require(corrected.events.first) else {
            Issue.record("no correction event")
            return
        }
        #expect(old?.label.value == .text("fraud"))
        // A label before its prediction is held, then joined when the prediction arrives.
        #expect(try await store.ingest(labels: [label("early", "ok")], receivedAt: Self.t0).outcomes == [.accepted])
        #expect(store.registry.schema("fraud")?.counts.pendingLabels == 1)
        let late = try await store.ingest(predictions: [prediction("early")], receivedAt: Self.t0 + 60_000)
        #expect(late.events.count == 2)
        let counts = try #require(store.registry.schema("fraud")).counts
        #expect(counts.pendingLabels == 0 && counts.labeled == 2 && counts.replacedLabels == 1)
        #expect(counts.predictions == 4 && counts.duplicatePredictions == 2)
    }

    @Test func aLabelJoinsThePredictionAnotherReplicaStored() async throws {
        let url = try PostgresCluster.shared().createDatabase()
        let a = try Self.open(url, replica: "a")
        let b = try Self.open(url, replica: "b")
        defer {
            a.close()
            b.close()
        }
        _ = try await a.ingest(predictions: [prediction("x"), prediction("y")], receivedAt: Self.t0)
        // A label for x at b joins a's row and is left for a to fold (b folds nothing of it);
        // a label for z is held at b and joined by a's prediction.
        let atB = try await b.ingest(labels: [label("x", "fraud"), label("z", "ok")], receivedAt: Self.t0 + 1)
        #expect(atB.outcomes == [.accepted, .accepted])
        #expect(atB.events.isEmpty)
        let zAtA = try await a.ingest(predictions: [prediction("z")], receivedAt: Self.t0 + 2)
        // x's label (taken on from b's inbox), z's prediction and z's held label.
        #expect(zAtA.events.count == 3)
        guard case .label(let adopted, _, _, nil, _) = zAtA.events.first else {
            Issue.record("the inbox label does not come first: \(zAtA.events)")
            return
        }
        #expect(adopted.id == "x")
        // A correction at a takes back what b applied (the row's label, read under lock).
        let fix = try await a.ingest(labels: [label("x", "ok")], receivedAt: Self.t0 + 3)
        guard case .label(_, _, _, let old, _) = try #require(fix.events.first) else {
            Issue.record("no correction event")
            return
        }
        #expect(old?.label.value == .text("fraud"))
        // Each writer replays only its own events: every label change of a's rows is a's.
        let countsA = try a.replay(after: FoldWatermark(), batchSize: 2) { _ in }
        #expect(countsA.predictions == 3 && countsA.labels == 3)
        let countsB = try b.replay(after: FoldWatermark(), batchSize: 2) { _ in }
        #expect(countsB.predictions == 0 && countsB.labels == 0)
    }

    @Test func concurrentCorrectionsAtTwoReplicasEachTakeBackTheOther() async throws {
        let url = try PostgresCluster.shared().createDatabase()
        let a = try Self.open(url, replica: "a")
        let b = try Self.open(url, replica: "b")
        defer {
            a.close()
            b.close()
        }
        let ids = (0..<200).map { "p\($0)" }
        _ = try await a.ingest(predictions: ids.map { prediction($0) }, receivedAt: Self.t0)
        // Both replicas label the same ids at once, in opposite orders (deadlocks are retried).
        async let fromA = a.ingest(labels: ids.map { label($0, "fraud") }, receivedAt: Self.t0 + 1)
        async let fromB = b.ingest(labels: ids.reversed().map { label($0, "ok") }, receivedAt: Self.t0 + 1)
        let (ra, rb) = try await (fromA, fromB)
        // b folds nothing of a's rows: its changes wait in a's inbox until a takes them on.
        #expect(rb.events.isEmpty)
        let taken = try await a.sync(at: Self.t0 + 2)
        // In a's fold order, per id: the first change replaces nothing, and the second takes
        // back exactly the first (whichever replica made it).
        var seen: [String: [(value: OutputValue?, old: OutputValue??)]] = [:]
        for event in ra.events + taken.events {
            guard case .label(let l, _, _, let old, _) = event else { continue }
            seen[l.id, default: []].append((l.value, old.map { $0.label.value }))
        }
        #expect(seen.count == 200)
        for (id, changes) in seen {
            #expect(changes.count == 2, "\(id): \(changes.count) changes")
            guard changes.count == 2 else { continue }
            #expect(changes[0].old == nil, "\(id)")
            #expect(changes[1].old == .some(changes[0].value), "\(id)")
        }
    }

    @Test func theSameNewIdsAtTwoReplicasAtOnceAreStoredOnce() async throws {
        let url = try PostgresCluster.shared().createDatabase()
        let a = try Self.open(url, replica: "a")
        let b = try Self.open(url, replica: "b")
        defer {
            a.close()
            b.close()
        }
        _ = try await a.ingest(predictions: [prediction("seed")], receivedAt: Self.t0)
        // The same new ids, in opposite orders and batches, at both replicas at once: one of
        // each pair of inserts waits for the other's transaction and runs again (a duplicate then).
        let ids = (0..<300).map { "n\($0)" }
        func send(_ store: PostgresStore, _ order: [String]) async throws -> [(String, ItemOutcome, Bool)] {
            var out: [(String, ItemOutcome, Bool)] = []
            for chunk in stride(from: 0, to: order.count, by: 50).map({ Array(order[$0..<min($0 + 50, order.count)]) }) {
                let batch = try await store.ingest(predictions: chunk.map { prediction($0) }, receivedAt: Self.t0 + 1)
                let folded = Set(batch.events.compactMap { e -> String? in
                    if case .prediction(let p, _) = e { return p.id }
                    return nil
                })
                for (id, outcome) in zip(chunk, batch.outcomes) { out.append((id, outcome, folded.contains(id))) }
            }
            return out
        }
        async let fromA = send(a, ids)
        async let fromB = send(b, ids.reversed())
        let all = try await fromA + fromB
        for id in ids {
            let outcomes = all.filter { $0.0 == id }
            #expect(outcomes.filter { $0.1 == .accepted }.count == 1, "\(id): \(outcomes.map(\.1))")
            #expect(outcomes.filter { $0.1 == .duplicate }.count == 1, "\(id)")
            // Folded exactly where it was accepted.
            #expect(outcomes.allSatisfy { ($0.1 == .accepted) == $0.2 }, "\(id)")
        }
        // Twice in one request: the first is stored, the second is a duplicate.
        let twice = try await b.ingest(predictions: [prediction("t1"), prediction("t1")], receivedAt: Self.t0 + 2)
        #expect(twice.outcomes == [.accepted, .duplicate])
        #expect(twice.events.count == 1)
    }

    @Test func eachReplicaKeepsItsOwnLearnedSchemaAndKnowsEveryonesEntries() async throws {
        let url = try PostgresCluster.shared().createDatabase()
        let a = try Self.open(url, replica: "a")
        let b = try Self.open(url, replica: "b")
        _ = try await a.ingest(predictions: (0..<3).map { prediction("a\($0)") }, receivedAt: Self.t0)
        _ = try await b.ingest(predictions: (0..<5).map { prediction("b\($0)", output: "ok") }, receivedAt: Self.t0)
        a.close()
        b.close()
        // Reopened: each replica counts what it stored (no replica overwrote another's counts),
        // and knows the class only the other one saw.
        let a2 = try Self.open(url, replica: "a")
        let b2 = try Self.open(url, replica: "b")
        defer {
            a2.close()
            b2.close()
        }
        let schemaA = try #require(a2.registry.schema("fraud"))
        let schemaB = try #require(b2.registry.schema("fraud"))
        #expect(schemaA.counts.predictions == 3)
        #expect(schemaB.counts.predictions == 5)
        #expect(Set(schemaA.classes.keys) == ["fraud", "ok"])
        #expect(schemaA.classes["fraud"] == 3 && schemaB.classes["ok"] == 5)
    }

    @Test func aLabelHeldWhileAnotherReplicaStoredItsPredictionJoinsAtTheNextSync() async throws {
        let cluster = try PostgresCluster.shared()
        let url = try cluster.createDatabase()
        let a = try Self.open(url, replica: "a")
        let b = try Self.open(url, replica: "b")
        defer {
            a.close()
            b.close()
        }
        _ = try await a.ingest(predictions: [prediction("seed")], receivedAt: Self.t0)
        // What two transactions in flight at once leave: b holds labels for o1, o2 and o3 while
        // a stores their predictions without seeing them (the held rows are set aside meanwhile).
        _ = try await b.ingest(labels: ["o1", "o2", "o3"].map { label($0, "fraud") }, receivedAt: Self.t0 + 1)
        _ = try cluster.psql(url, "CREATE TABLE aside AS SELECT * FROM pending_labels; DELETE FROM pending_labels")
        let stored = try await a.ingest(predictions: ["o1", "o2", "o3"].map { prediction($0, output: "ok") }, receivedAt: Self.t0 + 2)
        #expect(stored.events.count == 3)
        // o2 gets a newer label after its prediction, then the race's held rows appear.
        _ = try await a.ingest(labels: [label("o2", "ok")], receivedAt: Self.t0 + 3)
        _ = try cluster.psql(url, "INSERT INTO pending_labels SELECT * FROM aside")
        // One group: o3's newer label, then the sync, which joins o1's held label (a folds it:
        // its own row) and drops o2's and o3's older ones (o3's newer label is this group's own).
        let results = try a.apply([.labels([label("o3", "ok")], receivedAt: Self.t0 + 4), .sync(at: Self.t0 + 4)])
        let joined = results.flatMap { result -> [String] in
            guard case .committed(let batch) = result else { return [] }
            return batch.events.compactMap { e -> String? in
                if case .label(let l, _, _, _, _) = e { return "\(l.id)=\(l.value.map { "\($0)" } ?? "-")" }
                return nil
            }
        }
        #expect(joined.count == 2 && joined.first?.hasPrefix("o3=") == true && joined.last?.hasPrefix("o1=") == true, "\(joined)")
        let labels = try cluster.psql(
            url, "SELECT convert_from(ext_id, 'UTF8') || '=' || label FROM predictions WHERE ext_id IN ('o1', 'o2', 'o3') ORDER BY 1")
        #expect(labels.split(separator: "\n") == ["o1=fraud", "o2=ok", "o3=ok"])
        #expect(try cluster.psql(url, "SELECT count(*) FROM pending_labels").trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        // Nothing is left for b's sync.
        #expect(try await b.sync(at: Self.t0 + 5).events.isEmpty)
    }

    @Test func partialsAndWatermarksArePerWriterAndReadsMergeAll() async throws {
        let url = try PostgresCluster.shared().createDatabase()
        let a = try Self.open(url, replica: "a")
        let b = try Self.open(url, replica: "b")
        defer {
            a.close()
            b.close()
        }
        _ = try await a.ingest(predictions: [prediction("x")], receivedAt: Self.t0)
        _ = try await b.ingest(predictions: [prediction("y")], receivedAt: Self.t0)
        let series = SeriesKey(model: "fraud", version: "v1", variant: nil)
        let id = BucketID(series: series, resolution: .minute, start: Self.t0)
        var bucket = BucketAggregate()
        bucket.predictions = 1
        try await a.write(PartialFlush(upserts: [(id, bucket.encoded(), 1)], deletes: [], watermark: FoldWatermark(predictions: 7, labels: 3)))
        bucket.predictions = 2
        try await b.write(PartialFlush(upserts: [(id, bucket.encoded(), 2)], deletes: [], watermark: FoldWatermark(predictions: 9, labels: 0)))
        let loadedA = try a.loadPartials(hoursSince: 0)
        #expect(loadedA.buckets.count == 1 && loadedA.watermark == FoldWatermark(predictions: 7, labels: 3))
        #expect(try b.loadPartials(hoursSince: 0).watermark == FoldWatermark(predictions: 9, labels: 0))
        let all = try await a.partials(model: "fraud", from: Self.t0, to: Self.t0)
        #expect(Set(all.map(\.writer)) == ["a", "b"])
        #expect(all.map(\.bucket.predictions).sorted() == [1, 2])
        guard case .found(let own) = b.loadBucket(id) else {
            Issue.record("b's bucket not found")
            return
        }
        #expect(own.predictions == 2)
    }

    @Test func theURLIsCheckedAndItsPasswordNeverShown() throws {
        var config = PostgresConfig()
        config.replicaID = "r1"
        func resolve(_ url: String?) throws(PostgresSettings.Invalid) -> PostgresSettings {
            try PostgresSettings.resolve(
                config, environment: url.map { ["VIGIL_DATABASE_URL": $0] } ?? [:], hostName: "host")
        }
        let s = try resolve("postgresql://vigil:s%40cret@db.internal:6543/metrics?sslmode=require")
        #expect(s.host == "db.internal" && s.port == 6543 && s.username == "vigil" && s.database == "metrics")
        #expect(s.password == "s@cret" && s.tls == .require && s.replicaID == "r1")
        #expect(!s.description.contains("cret"))
        for bad in [nil, "mysql://u@h/db", "postgres://h/db", "postgres://u@h/", "postgres://u@h/db?sslmode=maybe",
            "postgres://u@h/db?application_name=x"]
        {
            #expect(throws: PostgresSettings.Invalid.self) { _ = try resolve(bad) }
        }
        do {
            _ = try resolve("postgres://u:topsecret@h/db?sslmode=nope")
        } catch {
            #expect(!error.description.contains("topsecret"))
        }
        config.replicaID = nil
        #expect(try resolve("postgres://u@h/db").replicaID == "host")
        #expect(PostgresSettings.replicaID(fromHostName: "pod/1 b") == "pod-1-b")
    }
}
