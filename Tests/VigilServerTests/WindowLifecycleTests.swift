import Foundation
import GRDB
import HummingbirdTesting
import Testing
import VigilCore
import VigilEngine

@testable import VigilServer

@Suite struct WindowLifecycleTests {
    static let day: Int64 = 86_400_000
    /// 2026-11-20T10:00:00Z.
    static let t0: Int64 = 1_795_600_800_000

    static func prediction(_ id: String, at ms: Int64, _ output: String) -> JSONValue {
        .object([
            ("id", .string(id)), ("model", .string("m")), ("timestamp", .number(Double(ms) / 1000)),
            ("prediction", .string(output)), ("confidence", .number(0.8)), ("features", .object([("x", .number(1))])),
        ])
    }

    static func label(_ id: String, _ value: String) -> JSONValue {
        .object([("id", .string(id)), ("model", .string("m")), ("label", .string(value))])
    }

    static func quality(_ client: some TestClientProtocol, _ query: String) async throws -> (Int?, Double?) {
        let (status, doc, text) = try await client.send(.get, "/v1/models/m/metrics?\(query)")
        #expect(status == .ok, "\(text)")
        return (doc?["counts"]?["labeled"]?.int, doc?["quality"]?["accuracy"]?.numberValue)
    }

    /// DESIGN §1: a label counts in the window where its prediction fell. A label arriving a day
    /// (or, with the bucket long evicted from memory, three days) late changes that window's
    /// quality and leaves the current window's alone.
    @Test(arguments: [1, 3], Backend.all)
    func lateLabelUpdatesTheWindowOfItsPrediction(daysLate: Int, backend: Backend) async throws {
        var config = VigilConfig()
        config.models["m"] = ModelConfig()
        config.models["m"]!.positiveClass = "fraud"
        let clock = ManualClock(Self.t0)
        let directory = try TemporaryDirectory()
        try await withEngineApp(config, clock: clock, store: try backend.freshStore(in: directory)) { client, engine in
            // Day 0: 20 predictions in the half hour before t0, 10 labelled correctly.
            let old = (0..<20).map {
                Self.prediction("old\($0)", at: Self.t0 - 1_800_000 + Int64($0) * 60_000, $0 % 2 == 0 ? "fraud" : "ok")
            }
            try await client.send(.post, "/v1/predictions", JSONWriter.string(.array(old)))
            try await client.send(
                .post, "/v1/labels",
                JSONWriter.string(.array((0..<10).map { Self.label("old\($0)", $0 % 2 == 0 ? "fraud" : "ok") })))
            await engine.evaluate(at: Self.t0)
            #expect(try await Self.quality(client, "window=1h") == (10, 1.0))
            // Later: new traffic, all labelled correctly.
            let t1 = Self.t0 + Int64(daysLate) * Self.day
            clock.set(t1)
            let new = (0..<5).map { Self.prediction("new\($0)", at: t1 - 600_000 + Int64($0) * 60_000, "ok") }
            try await client.send(.post, "/v1/predictions", JSONWriter.string(.array(new)))
            try await client.send(
                .post, "/v1/labels", JSONWriter.string(.array((0..<5).map { Self.label("new\($0)", "ok") })))
            await engine.evaluate(at: t1)
            let past = "window=1h&to=\(Self.t0 / 1000)"
            #expect(try await Self.quality(client, past) == (10, 1.0))
            // The late label: old15 predicted "ok", truly "fraud".
            try await client.send(.post, "/v1/labels", JSONWriter.string(.array([Self.label("old15", "fraud")])))
            await engine.evaluate(at: t1)
            #expect(try await Self.quality(client, "window=1h") == (5, 1.0))
            #expect(try await Self.quality(client, past) == (11, 10.0 / 11.0))
        }
    }

    static let queries = [
        "window=1h", "window=24h", "window=5m", "window=1h&version=default", "window=24h&version=default",
    ]

    static func documents(_ client: some TestClientProtocol) async throws -> [String] {
        var out: [String] = []
        for q in queries {
            let (status, _, text) = try await client.send(.get, "/v1/models/fraud/metrics?\(q)")
            #expect(status == .ok)
            out.append(text)
        }
        return out
    }

    /// The metrics document is the same after a restart: once from flushed buckets, once with an
    /// unflushed tail of predictions and label changes that the restart replays from the events.
    @Test(arguments: Backend.all) func documentIsTheSameAfterARestart(backend: Backend) async throws {
        let fixture = try EndToEndFixture.load()
        let directory = try TemporaryDirectory()
        let path = try backend.freshStore(in: directory)
        let clock = ManualClock(fixture.now - 3_600_000)
        let before = Locked<[String]>([])
        try await withEngineApp(EndToEndFixture.config, clock: clock, store: path) { client, engine in
            try await fixture.replay(client)
            clock.set(fixture.now)
            await engine.evaluate(at: fixture.now)
            // The unflushed tail: more predictions and labels, one replacing an earlier label.
            let extra = (0..<30).map { i -> JSONValue in
                .object([
                    ("id", .string("tail\(i)")), ("model", .string("fraud")),
                    ("timestamp", .number(Double(fixture.now) / 1000 - 120 + Double(i))),
                    ("prediction", .string(i % 3 == 0 ? "fraud" : "ok")), ("confidence", .number(0.7)),
                    ("features", .object([("amount", .number(Double(i) * 3.5)), ("country", .string("FR"))])),
                    ("segments", .object([("region", .string("eu")), ("gender", .string("f"))])),
                ])
            }
            try await client.send(.post, "/v1/predictions", JSONWriter.string(.array(extra)))
            let labels = (0..<20).map { i -> JSONValue in
                .object([
                    ("id", .string("tail\(i)")), ("model", .string("fraud")),
                    ("label", .string(i % 2 == 0 ? "fraud" : "ok")),
                ])
            }
            try await client.send(.post, "/v1/labels", JSONWriter.string(.array(labels)))
            let corrected = fixture.items("labels")[20]
            let flipped: JSONValue = .object([
                ("id", corrected["id"]!), ("model", .string("fraud")),
                ("label", .string(corrected["label"]?.stringValue == "fraud" ? "ok" : "fraud")),
            ])
            try await client.send(.post, "/v1/labels", JSONWriter.string(.array([flipped])))
            await engine.evaluate(at: fixture.now, flush: false)
            let docs = try await Self.documents(client)
            #expect(docs[0].contains("\"predictions\":210"))
            #expect(docs[0].contains("\"labeled\":138"))
            before.withLock { $0 = docs }
        }
        // A second process on the same file, as after kill -9: nothing flushed since the tail.
        try await withEngineApp(EndToEndFixture.config, clock: clock, store: path) { client, engine in
            await engine.evaluate(at: fixture.now)
            let after = try await Self.documents(client)
            let expected = before.withLock { $0 }
            for (q, (a, b)) in zip(Self.queries, zip(expected, after)) { #expect(a == b, "\(q) differs after restart") }
        }
        // And once more from buckets alone (the second run flushed everything).
        try await withEngineApp(EndToEndFixture.config, clock: clock, store: path) { client, engine in
            await engine.evaluate(at: fixture.now)
            let again = try await Self.documents(client)
            let expected = before.withLock { $0 }
            for (q, (a, b)) in zip(Self.queries, zip(expected, again)) {
                #expect(a == b, "\(q) differs from flushed buckets")
            }
        }
        withExtendedLifetime(directory) {}
    }

    /// `storage.retention`: predictions older than `events` and hour buckets older than
    /// `aggregates` are deleted; the newest prediction row always stays (its id orders replay).
    @Test func retentionDeletesOldEventsAndBuckets() async throws {
        var config = VigilConfig()
        config.storage.eventRetention = TimeLength(millis: 2 * Self.day, text: "2d")
        config.storage.aggregateRetention = TimeLength(millis: 3 * Self.day, text: "3d")
        let directory = try TemporaryDirectory()
        let path = directory.path("vigil.db")
        let clock = ManualClock(Self.t0)
        try await withEngineApp(config, clock: clock, path: path) { client, engine in
            let old = (0..<10).map {
                Self.prediction("old\($0)", at: Self.t0 - 5 * Self.day + Int64($0) * 60_000, "ok")
            }
            let new = (0..<10).map { Self.prediction("new\($0)", at: Self.t0 - 60_000 * Int64($0 + 1), "ok") }
            try await client.send(.post, "/v1/predictions", JSONWriter.string(.array(new + old)))
            await engine.evaluate(at: Self.t0)
            // Retention is its own hourly service; this is its next pass.
            clock.set(Self.t0 + 7_200_000)
            await engine.evaluate(at: Self.t0 + 7_200_000)
            await engine.retention.enforce(at: Self.t0 + 7_200_000)
            let queue = try DatabaseQueue(path: path)
            let (predictions, oldBuckets) = try await queue.read { db in
                (
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM predictions")!,
                    try Int.fetchOne(
                        db, sql: "SELECT count(*) FROM buckets WHERE start < ?", arguments: [Self.t0 - 3 * Self.day])!
                )
            }
            // The last old row inserted is the newest row id: it stays.
            #expect(predictions == 11)
            #expect(oldBuckets == 0)
            // The schema's counts keep counting what was ingested.
            let (_, models, _) = try await client.send(.get, "/v1/models")
            #expect(models?["models"]?[0]?["counts"]?["predictions"]?.int == 20)
        }
        withExtendedLifetime(directory) {}
    }

    /// A late prediction for an hour that left memory long ago, committed but not yet flushed
    /// when the process is killed, is replayed after the restart into the stored hour bucket:
    /// merged with it, not replacing it. Real binary, `kill -9`.
    @Test func replayedLateEventMergesIntoTheStoredHour() async throws {
        let directory = try TemporaryDirectory()
        try "evaluation_interval: 8s\n".write(toFile: directory.path("vigil.yaml"), atomically: true, encoding: .utf8)
        func start() async throws -> VigilProcess {
            try await VigilProcess.serve(
                db: directory.path("vigil.db"), logPath: directory.path("vigil.log"),
                extra: ["--config", directory.path("vigil.yaml")])
        }
        let now = SystemClock().now
        let hour = (now - 30 * 3_600_000) / 3_600_000 * 3_600_000  // 30 h ago: beyond memory
        var vigil = try await start()
        let old = (0..<12).map { Self.prediction("old\($0)", at: hour + 600_000 + Int64($0) * 60_000, "ok") }
        #expect(
            try await HTTP.post("http://127.0.0.1:\(vigil.port)/v1/predictions", JSONWriter.string(.array(old))).status
                == 200)
        try await Task.sleep(for: .seconds(9))  // an evaluation flushed the hour bucket
        let late = Self.prediction("late", at: hour + 900_000, "ok")
        #expect(
            try await HTTP.post("http://127.0.0.1:\(vigil.port)/v1/predictions", JSONWriter.string(.array([late])))
                .status == 200)
        vigil.kill9()  // before the next evaluation could flush it
        vigil = try await start()
        let url = "http://127.0.0.1:\(vigil.port)/v1/models/m/metrics?window=1h&to=\((hour + 3_600_000) / 1000)"
        try await HTTP.eventually(.seconds(20), "the past window to count old and late predictions") {
            try await HTTP.get(url).body.contains("\"predictions\":13")
        }
        #expect(await vigil.terminate() == 0)
        withExtendedLifetime(directory) {}
    }

    /// `PUT …/reference`: items may omit `model` and carry `label` inline; a bad inline label or
    /// another model's item is rejected alone, the rest form the reference.
    @Test func referenceUploadValidatesItemsOneByOne() async throws {
        try await withEngineApp(VigilConfig(), clock: ManualClock(Self.t0)) { client, _ in
            let body = #"""
                [{"id": "a", "prediction": "ok", "label": "ok", "features": {"x": 1}},
                 {"id": "b", "prediction": "ok", "label": [1], "features": {"x": 2}},
                 {"id": "c", "model": "other", "prediction": "ok"},
                 {"id": "d", "model": "m", "prediction": "fraud", "label": "fraud", "features": {"x": 3}}]
                """#
            let (status, response, text) = try await client.send(.put, "/v1/models/m/reference", body)
            #expect(status == .ok, "\(text)")
            #expect(response?["rows"]?.int == 2)
            #expect(response?["labeled"]?.int == 2)
            #expect(response?["rejected"]?.int == 2)
            #expect(response?["errors"]?[0]?["reason"]?.stringValue == "invalid_label")
            #expect(response?["errors"]?[1]?["reason"]?.stringValue == "invalid_model")
            let (empty, _, _) = try await client.send(.put, "/v1/models/m/reference", #"[{"id": "x"}]"#)
            #expect(empty == .badRequest)
        }
    }
}
