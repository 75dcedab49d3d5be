import Foundation
import GRDB
import Testing
import VigilCore
import VigilStats

/// The kill switch end to end on the real binary (issue 12, acceptance 4): a comparison rule
/// fires on a bad canary and its `http` notifier's templated request reaches a local receiver
/// with the secret from the environment; the healthy canary's flag is never touched; the secret
/// is in no stored row.
@Suite struct KillSwitchTests {
    static func config(port: Int) -> String {
        """
        evaluation_interval: 1s
        models:
          fraud: {task: binary, positive_class: fraud, release: {min_samples: 100}}
          search: {task: binary, positive_class: fraud, release: {min_samples: 100}}
        alerts:
          - {name: CanaryRollback, model: fraud, compare: {baseline: "variant:control", candidate: "variant:canary"}, verdict: rollback, window: 1h, notify: [flag_off]}
          - {name: CanaryRollback, model: search, compare: {baseline: "variant:control", candidate: "variant:canary"}, verdict: rollback, window: 1h, notify: [flag_off]}
        notifiers:
          flag_off:
            type: http
            method: POST
            url: "http://127.0.0.1:\(port)/api/admin/projects/default/features/{{ $labels.model }}-canary/environments/production/off"
            headers: {Authorization: '{{ env "UNLEASH_TOKEN" }}'}
        """
    }

    /// Predictions and labels of one side at event times in the last half hour.
    static func traffic(model: String, variant: String, precision: Double, n: Int, seed: UInt64) -> (String, String) {
        var random = SplitMix64(state: seed)
        let now = Date().timeIntervalSince1970
        var predictions: [JSONValue] = []
        var labels: [JSONValue] = []
        for i in 0..<n {
            let fraud = i % 2 == 0
            let right = Double.random(in: 0..<1, using: &random) < (fraud ? precision : 0.9)
            predictions.append(.object([
                ("id", .string("\(variant)-\(i)")), ("model", .string(model)), ("variant", .string(variant)),
                ("timestamp", .number(now - Double(i % 1_500))), ("prediction", .string(fraud ? "fraud" : "ok")),
            ]))
            labels.append(.object([
                ("id", .string("\(variant)-\(i)")), ("model", .string(model)),
                ("label", .string(fraud == right ? "fraud" : "ok")),
            ]))
        }
        return (JSONWriter.string(.array(predictions)), JSONWriter.string(.array(labels)))
    }

    @Test func aBadCanaryIsTurnedOffAndAHealthyOneIsNotTouched() async throws {
        let directory = try TemporaryDirectory()
        let receiver = FaultyReceiver()
        try await receiver.whileRunning {
            let configPath = directory.path("vigil.yaml")
            try Self.config(port: receiver.port.withLock { $0 }).write(toFile: configPath, atomically: true, encoding: .utf8)
            let db = directory.path("vigil.db")
            let vigil = try await VigilProcess.serve(
                db: db, logPath: directory.path("vigil.log"), extra: ["--config", configPath],
                environment: ["UNLEASH_TOKEN": "unleash-secret-7"])
            let sides = [
                ("fraud", "control", 0.85), ("fraud", "canary", 0.60), ("search", "control", 0.85),
                ("search", "canary", 0.85),
            ]
            for (index, (model, variant, precision)) in sides.enumerated() {
                let (predictions, labels) = Self.traffic(
                    model: model, variant: variant, precision: precision, n: 2_000, seed: UInt64(index + 1))
                #expect(try await HTTP.request(.POST, "http://127.0.0.1:\(vigil.port)/v1/predictions", body: predictions).status == 200)
                #expect(try await HTTP.request(.POST, "http://127.0.0.1:\(vigil.port)/v1/labels", body: labels).status == 200)
            }
            try await HTTP.eventually(.seconds(60), "the kill switch request") { !receiver.posts.isEmpty }
            // Several more evaluations: still one request (one-way, no repeats), none for search.
            try await Task.sleep(for: .seconds(3))
            let posts = receiver.posts
            #expect(posts.count == 1, "\(posts.map(\.path))")
            let request = try #require(posts.first)
            #expect(request.path == "/api/admin/projects/default/features/fraud-canary/environments/production/off")
            #expect(request.headers["authorization"] == "unleash-secret-7")
            #expect(request.headers["user-agent"] == "vigil")
            let (_, metrics) = try await HTTP.request(.GET, "http://127.0.0.1:\(vigil.port)/metrics")
            #expect(metrics.contains(#"vigil_compare_verdict{model="fraud",window="1h",baseline="variant:control",candidate="variant:canary",verdict="rollback"} 1"#))
            #expect(!metrics.contains(#"vigil_compare_verdict{model="search",window="1h",baseline="variant:control",candidate="variant:canary",verdict="rollback"} 1"#))
            #expect(metrics.contains(#"vigil_webhook_deliveries_total{notifier="flag_off",outcome="success"} 1"#))
            #expect(await vigil.terminate() == 0)
            // No stored row holds the secret (the outbox keeps env references, not values).
            for file in [db, db + "-wal"] where FileManager.default.fileExists(atPath: file) {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
                #expect(bytes.range(of: Data("unleash-secret-7".utf8)) == nil, "\(file) holds the secret")
            }
        }
    }
}

