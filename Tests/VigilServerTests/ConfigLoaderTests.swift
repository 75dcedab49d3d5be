import Testing
import VigilCore

@testable import VigilServer

@Suite struct ConfigLoaderTests {
    static let designExample = """
        server: {host: 127.0.0.1, port: 9750, max_body_bytes: 10485760}
        storage: {sqlite: vigil.db, retention: {events: 7d, aggregates: 90d}}
        auth:
          tokens: [{name: checkout-svc, env: VIGIL_TOKEN_CHECKOUT, scopes: [ingest]},
                   {name: grafana, env: VIGIL_TOKEN_READ, scopes: [read]}]
        windows: [5m, 1h, 24h]
        evaluation_interval: 15s
        models:
          fraud:
            task: binary            # binary | multiclass | regression | generative
            positive_class: fraud
            features: {amount: numeric, country: categorical}   # optional; inferred otherwise
            ranges: {amount: [0, 100000]}                       # optional input validation
            segments: [region, gender, [region, gender]]
            reference: {first: 5000}
            label_ttl: 30d
        alerts:
          - {name: FeatureDrift, model: "*", metric: feature_drift_psi, op: ">", threshold: 0.2,
             window: 1h, for: 10m, min_samples: 500, severity: warning, notify: [oncall]}
        notifiers:
          oncall: {type: webhook, url: "https://hooks.example/vigil", secret_env: VIGIL_HOOK_SECRET,
                   send_resolved: true, repeat_interval: 4h}
          am: {type: alertmanager, url: "http://127.0.0.1:9093"}
        """

    @Test func parsesTheDesignExample() throws {
        let config = try ConfigLoader.parse(yaml: Self.designExample)
        #expect(config.server.port == 9750 && config.server.maxBodyBytes == 10_485_760)
        #expect(config.storage.eventRetention.millis == 7 * 86_400_000)
        #expect(config.auth.tokens.map(\.name) == ["checkout-svc", "grafana"])
        #expect(config.auth.tokens[0].scopes == [.ingest])
        #expect(config.windows.map(\.text) == ["5m", "1h", "24h"])
        #expect(config.evaluationInterval.millis == 15_000)
        let fraud = try #require(config.models["fraud"])
        #expect(fraud.task == .binary && fraud.positiveClass == "fraud")
        #expect(fraud.features == ["amount": .numeric, "country": .categorical])
        #expect(fraud.ranges["amount"] == 0...100_000)
        #expect(fraud.segments == [["region"], ["gender"], ["region", "gender"]])
        #expect(fraud.labelTTL.millis == 30 * 86_400_000)
        let rule = try #require(config.alerts.first)
        #expect(
            rule.op == .greater && rule.threshold == 0.2 && rule.forDuration.millis == 600_000 && rule.minSamples == 500
        )
        #expect(config.notifiers["oncall"]?.secretEnv == "VIGIL_HOOK_SECRET")
        #expect(config.notifiers["am"]?.type == .alertmanager)
    }

    @Test func emptyFileIsTheDefaultConfiguration() throws {
        #expect(try ConfigLoader.parse(yaml: "") == VigilConfig())
    }

    /// Each problem is reported at its line and column.
    @Test(arguments: [
        ("server:\n  port: 99999\n", 2, "server.port"),
        ("server:\n  prot: 80\n", 2, "unknown key 'prot'"),
        ("windows: [5m, 1x]\n", 1, "windows[1]"),
        ("models:\n  fraud:\n    task: binray\n", 3, "models.fraud.task must be one of"),
        ("models:\n  fraud:\n    ranges: {amount: [10, 1]}\n", 3, "min 10.0 is greater than max 1.0"),
        ("models:\n  'bad name':\n    task: binary\n", 3, "not a valid model name"),
        ("auth:\n  tokens:\n    - {name: a, env: X, scopes: [write]}\n", 3, "scopes must be one of"),
        ("alerts:\n  - {name: A, metric: nope, op: '>', threshold: 1, window: 1h}\n", 2, "unknown metric 'nope'"),
        (
            "alerts:\n  - {name: A, metric: quality_f1, op: '>', threshold: 1, window: 2h}\n", 2,
            "not a configured window"
        ),
        (
            "alerts:\n  - {name: A, metric: quality_f1, op: '<', threshold: 1, window: 1h, notify: [pager]}\n", 2,
            "notifier 'pager' is not defined"
        ),
        (
            "alerts:\n  - {name: A, metric: segment_metric_value, op: '>', threshold: 1, window: 1h}\n", 2,
            "segment_metric_value needs stat (mean or sum)"
        ),
        ("notifiers:\n  x: {type: webhook, url: ftp://x}\n", 2, "http:// or https://"),
        ("server: [1, 2\n", 2, "YAML"),
        // Durations that would overflow a 64-bit nanosecond timer at start-up (issue 10).
        ("server:\n  idle_timeout: 1000000d\n", 2, "server.idle_timeout must be at most 1d"),
        ("evaluation_interval: 9999w\n", 1, "evaluation_interval must be at most 1d"),
        ("limits:\n  max_future_skew: 9999w\n", 2, "limits.max_future_skew must be at most 366d"),
        ("limits:\n  max_models: 0\n", 2, "limits.max_models"),
        ("windows: [30s]\n", 1, "must be from 1m to 366d"),
    ])
    func reportsProblemsWithTheirLine(_ yaml: String, _ line: Int, _ fragment: String) throws {
        do {
            _ = try ConfigLoader.parse(yaml: yaml)
            Issue.record("accepted: \(yaml)")
        } catch let error as ConfigError {
            #expect(error.issues.contains { $0.line == line && $0.message.contains(fragment) }, "\(error)")
        }
    }

    @Test func reportsEveryProblemNotJustTheFirst() throws {
        let yaml = "server:\n  port: -1\n  host: 5\nwindows: []\nevaluation_interval: soon\n"
        do {
            _ = try ConfigLoader.parse(yaml: yaml)
            Issue.record("accepted")
        } catch let error as ConfigError {
            #expect(error.issues.map(\.line) == [2, 4, 5])
        }
    }
}
