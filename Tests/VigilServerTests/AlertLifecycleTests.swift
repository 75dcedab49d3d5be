import Foundation
import GRDB
import HummingbirdTesting
import Testing
import VigilCore

@testable import VigilServer

/// The rule engine inside the service: state machine steps at explicit instants, notifications
/// queued in the outbox, and state kept across a restart.
@Suite struct AlertLifecycleTests {
    static let t0: Int64 = 1_795_608_000_000

    static var config: VigilConfig {
        var config = VigilConfig()
        config.evaluationInterval = TimeLength(millis: 1000, text: "1s")
        var model = ModelConfig()
        model.positiveClass = "fraud"
        config.models["fraud"] = model
        var rule = AlertRuleConfig(
            name: "FeatureDrift", metric: "feature_drift_psi", op: .greater, threshold: 0.2,
            window: TimeLength(millis: 3_600_000, text: "1h"))
        rule.forDuration = TimeLength(millis: 600_000, text: "10m")
        rule.minSamples = 100
        rule.notify = ["hook", "am"]
        rule.selectors = ["feature": "amount"]
        rule.summary = "{{ $labels.feature }} drifted on {{ $labels.model }} (PSI {{ $value }})"
        config.alerts = [rule]
        var hook = NotifierConfig(type: .webhook, url: "http://127.0.0.1:9/hook")
        hook.repeatInterval = TimeLength(millis: 3_600_000, text: "1h")
        config.notifiers["hook"] = hook
        config.notifiers["am"] = NotifierConfig(type: .alertmanager, url: "http://127.0.0.1:9")
        return config
    }

    static func traffic(_ prefix: String, count: Int, shift: Double, at t: Int64) -> String {
        var items: [JSONValue] = []
        for i in 0..<count {
            let ts = Double(t - 600_000 + Int64(i) * 1000) / 1000
            let features: JSONValue = .object([("amount", .number(Double(i % 100) + shift))])
            let item: JSONValue = .object([
                ("id", .string("\(prefix)\(i)")), ("model", .string("fraud")), ("timestamp", .number(ts)),
                ("prediction", .string(i % 3 == 0 ? "fraud" : "ok")), ("confidence", .number(0.8)),
                ("features", features),
            ])
            items.append(item)
        }
        return JSONWriter.string(.array(items))
    }

    /// The queued notifications (notifier, parsed body), oldest first, read behind the store.
    static func outbox(_ store: TestStore) throws -> [(String, JSONValue)] {
        switch store {
        case .sqlite(let path): return try outbox(path)
        case .postgres(let url):
            let text = try PostgresCluster.shared().psql(
                url, "SELECT notifier || '|' || encode(body, 'hex') FROM outbox WHERE state = 0 ORDER BY id")
            return try text.split(separator: "\n").map { line in
                let parts = line.split(separator: "|", maxSplits: 1)
                let hex = Array(parts[1].utf8)
                let bytes = stride(from: 0, to: hex.count, by: 2).map { UInt8(String(decoding: hex[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
                return (String(parts[0]), try JSONParser.parse(bytes))
            }
        }
    }

    static func outbox(_ path: String) throws -> [(String, JSONValue)] {
        let queue = try DatabaseQueue(path: path)
        return try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT notifier, body FROM outbox ORDER BY id").map { row in
                let body: Data = row["body"]
                return (row["notifier"], try JSONParser.parse(Array(body)))
            }
        }
    }

    @Test(arguments: Backend.all) func driftPendsFiresNotifiesAndResolvesAcrossARestart(backend: Backend) async throws {
        let directory = try TemporaryDirectory()
        let path = try backend.freshStore(in: directory)
        let clock = ManualClock(Self.t0)
        // Reference: amounts 0…99. Current: shifted by 300, far outside it.
        try await withEngineApp(Self.config, clock: clock, store: path) { client, engine in
            let reference = Self.traffic("r", count: 500, shift: 0, at: Self.t0)
            #expect(try await client.send(.put, "/v1/models/fraud/reference", reference).0 == .ok)
            try await client.send(.post, "/v1/predictions", Self.traffic("c", count: 150, shift: 300, at: Self.t0))
            await engine.evaluate(at: Self.t0)
            let (_, pending, _) = try await client.send(.get, "/v1/alerts")
            #expect(pending?["alerts"]?[0]?["state"]?.stringValue == "pending")
            #expect(try Self.outbox(path).isEmpty)
            clock.set(Self.t0 + 300_000)
            await engine.evaluate(at: Self.t0 + 300_000)  // 5 of 10 minutes
            #expect(try await client.send(.get, "/v1/alerts?state=firing").1?["alerts"]?.array.isEmpty == true)
        }
        // Restart: the pending alert keeps its activeAt, so it fires 10 minutes after t0.
        try await withEngineApp(Self.config, clock: clock, store: path) { client, engine in
            let t = Self.t0 + 600_000
            clock.set(t)
            await engine.evaluate(at: t)
            let (_, firing, _) = try await client.send(.get, "/v1/alerts?state=firing")
            let alert = try #require(firing?["alerts"]?[0])
            #expect(alert["labels"]?["feature"]?.stringValue == "amount")
            #expect(alert["active_at"]?.stringValue == Timestamp.format(Self.t0))
            #expect(alert["annotations"]?["summary"]?.stringValue?.hasPrefix("amount drifted on fraud (PSI ") == true)
            let queued = try Self.outbox(path)
            #expect(queued.map(\.0).sorted() == ["am", "hook"])
            let webhook = try #require(queued.first { $0.0 == "hook" }?.1)
            #expect(webhook["status"]?.stringValue == "firing")
            #expect(webhook["notification_reason"]?.stringValue == "new")
            let (_, metrics, text) = try await client.send(.get, "/metrics")
            _ = metrics
            #expect(text.contains(#"vigil_alerts_firing{alertname="FeatureDrift",severity="warning"} 1"#))
            // Exported from the start (the dispatcher may already have tried the unreachable hook).
            #expect(text.contains(#"vigil_webhook_deliveries_total{notifier="hook",outcome="retry"} "#))
            // Nothing changed a minute later: no new notification (repeat_interval is 1h).
            clock.set(t + 60_000)
            await engine.evaluate(at: t + 60_000)
            #expect(try Self.outbox(path).filter { $0.0 == "hook" }.count == 1)
            // Recovery: a reference like the current traffic.
            let shifted = Self.traffic("r2", count: 500, shift: 300, at: t)
            #expect(try await client.send(.put, "/v1/models/fraud/reference", shifted).0 == .ok)
            clock.set(t + 120_000)
            await engine.evaluate(at: t + 120_000)
            #expect(try await client.send(.get, "/v1/alerts").1?["alerts"]?.array.isEmpty == true)
            let (_, history, _) = try await client.send(.get, "/v1/alerts?state=resolved")
            #expect(history?["alerts"]?[0]?["resolved_at"]?.stringValue == Timestamp.format(t + 120_000))
            let hooks = try Self.outbox(path).filter { $0.0 == "hook" }
            #expect(hooks.count == 2)
            #expect(hooks.last?.1["status"]?.stringValue == "resolved")
            #expect(hooks.last?.1["notification_reason"]?.stringValue == "resolved")
            let am = try Self.outbox(path).filter { $0.0 == "am" }
            #expect(am.last?.1[0]?["endsAt"]?.stringValue == Timestamp.format(t + 120_000))
        }
        withExtendedLifetime(directory) {}
    }

    @Test func belowMinSamplesNothingIsEvaluated() async throws {
        let clock = ManualClock(Self.t0)
        try await withEngineApp(Self.config, clock: clock) { client, engine in
            try await client.send(
                .put, "/v1/models/fraud/reference", Self.traffic("r", count: 500, shift: 0, at: Self.t0))
            try await client.send(.post, "/v1/predictions", Self.traffic("c", count: 60, shift: 300, at: Self.t0))
            await engine.evaluate(at: Self.t0)
            #expect(try await client.send(.get, "/v1/alerts").1?["alerts"]?.array.isEmpty == true)
        }
    }
}
