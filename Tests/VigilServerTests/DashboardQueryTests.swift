import Foundation
import Testing
import VigilCore
import VigilEngine

@testable import VigilServer

/// `dashboards/`: a real Prometheus (Debian's package) scrapes a real Vigil fed with traffic, and
/// every panel query of every dashboard runs through Prometheus' HTTP API: no errors, and every
/// query returns data.
@Suite(.serialized) struct DashboardQueryTests {
    static let root = ShippedRulesTests.root

    static let config = """
        evaluation_interval: 1s
        models:
          fraud:
            task: binary
            positive_class: fraud
            segments: [region, [region, tier]]
            ranges: {amount: [0, 100]}
            release: {min_samples: 10, watch: [{baseline: "variant:control", candidate: "variant:canary", window: 1h}]}
        alerts:
          - {name: FeatureDrift, model: "*", metric: feature_drift_psi, op: ">", threshold: 0.2, window: 1h,
             for: 0s, min_samples: 10, notify: [hook]}
        notifiers:
          hook: {type: webhook, url: "http://127.0.0.1:9/unreachable"}
        """

    /// Predictions with `amount` around `center`, labels for every other one.
    static func traffic(_ prefix: String, count: Int, center: Double, now: Int64) -> (String, String) {
        var predictions: [JSONValue] = []
        var labels: [JSONValue] = []
        for i in 0..<count {
            let fraud = i % 3 == 0
            let features: JSONValue = .object([
                ("amount", .number(center + Double(i % 40))),
                ("age", i % 10 == 0 ? .null : .number(Double(20 + i % 50))),
                ("country", .string(["DE", "FR", "US"][i % 3])),
            ])
            predictions.append(
                .object([
                    ("id", .string("\(prefix)\(i)")), ("model", .string("fraud")), ("version", .string("v1")),
                    ("variant", .string(i % 5 == 0 ? "canary" : "control")),
                    ("timestamp", .number(Double(now) / 1000 - Double(count - i))),
                    ("prediction", .string(fraud ? "fraud" : "ok")), ("confidence", .number(0.6 + Double(i % 4) / 10)),
                    ("features", features),
                    (
                        "segments",
                        .object([
                            ("region", .string(i % 2 == 0 ? "eu" : "us")), ("tier", .string(i % 4 < 2 ? "a" : "b")),
                        ])
                    ),
                    ("metrics", .object([("latency_ms", .number(Double(20 + i % 30)))])),
                ]))
            if i % 2 == 0 {
                labels.append(
                    .object([
                        ("id", .string("\(prefix)\(i)")), ("model", .string("fraud")),
                        ("label", .string(i % 4 == 0 ? "fraud" : "ok")),
                    ]))
            }
        }
        return (JSONWriter.string(.array(predictions)), JSONWriter.string(.array(labels)))
    }

    struct Query {
        var dashboard: String
        var panel: String
        var expr: String
    }

    static func queries() throws -> [Query] {
        var out: [Query] = []
        let directory = root.appendingPathComponent("dashboards")
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        where file.hasSuffix(".json") {
            let json = try JSONParser.parse(Array(try Data(contentsOf: directory.appendingPathComponent(file))))
            #expect((json["schemaVersion"]?.numberValue ?? 0) >= 36, "\(file) schemaVersion")
            let variables = json["templating"]?["list"]?.array.compactMap { $0["name"]?.stringValue } ?? []
            #expect(
                Set(["datasource", "model", "version", "window"]).isSubset(of: Set(variables)), "\(file) variables")
            for panel in json["panels"]?.array ?? [] {
                for target in panel["targets"]?.array ?? [] {
                    guard let expr = target["expr"]?.stringValue else { continue }
                    out.append(Query(dashboard: file, panel: panel["title"]?.stringValue ?? "?", expr: expr))
                }
            }
        }
        return out
    }

    /// Grafana's variables as a user would pick them.
    static func substitute(_ expr: String) -> String {
        expr.replacingOccurrences(of: "$__rate_interval", with: "1m").replacingOccurrences(of: "$model", with: "fraud")
            .replacingOccurrences(of: "$version", with: "v1").replacingOccurrences(of: "$window", with: "1h")
    }

    @Test func queriesNameOnlyVigilFamilies() throws {
        let known =
            Set(WindowGauges.families.map(\.name)).union([
                "vigil_predictions_total", "vigil_labels_total", "vigil_ingest_rejected_total",
                "vigil_ingest_duplicates_total", "vigil_labels_pending", "vigil_http_request_duration_seconds_bucket",
                "vigil_alerts_firing", "vigil_webhook_deliveries_total", WindowGauges.compareVerdict.name,
                WindowGauges.compareDifference.name,
            ])
        let queries = try Self.queries()
        #expect(queries.count >= 30)
        let regex = try Regex("vigil_[a-z0-9_]+")
        for q in queries {
            for match in q.expr.matches(of: regex) {
                #expect(
                    known.contains(String(q.expr[match.range])), "\(q.dashboard) / \(q.panel): \(q.expr[match.range])")
            }
        }
    }

    @Test(
        .enabled(
            if: ExternalTool.shouldRun("prometheus"),
            "prometheus is not installed: apt-get install prometheus (CI always runs this)"))
    func everyPanelQueryReturnsDataOnARealPrometheus() async throws {
        let directory = try TemporaryDirectory()
        try Self.config.write(toFile: directory.path("vigil.yaml"), atomically: true, encoding: .utf8)
        let vigil = try await VigilProcess.serve(
            db: directory.path("vigil.db"), logPath: directory.path("vigil.log"),
            extra: ["--config", directory.path("vigil.yaml")])
        let base = "http://127.0.0.1:\(vigil.port)"
        let now = SystemClock().now
        let (reference, _) = Self.traffic("r", count: 300, center: 0, now: now)
        #expect(try await HTTP.request(.PUT, "\(base)/v1/models/fraud/reference", body: reference).status == 200)

        let promPort = try ExternalTool.freePort()
        let promConfig = """
            global: {scrape_interval: 1s, evaluation_interval: 1s}
            scrape_configs:
              - job_name: vigil
                static_configs: [{targets: ["127.0.0.1:\(vigil.port)"]}]
            """
        try promConfig.write(toFile: directory.path("prometheus.yml"), atomically: true, encoding: .utf8)
        let prometheus = try Daemon(
            "prometheus",
            [
                "--config.file=\(directory.path("prometheus.yml"))", "--storage.tsdb.path=\(directory.path("tsdb"))",
                "--web.listen-address=127.0.0.1:\(promPort)",
            ], logPath: directory.path("prometheus.log"))
        defer { prometheus.stop() }
        let api = "http://127.0.0.1:\(promPort)/api/v1"
        // Traffic across several scrapes, so counters have rates; amounts drift from the reference.
        for round in 0..<8 {
            let (predictions, labels) = Self.traffic("c\(round)-", count: 60, center: 70, now: SystemClock().now)
            #expect(try await HTTP.post("\(base)/v1/predictions", predictions).status == 200)
            #expect(try await HTTP.post("\(base)/v1/labels", labels).status == 200)
            _ = try await HTTP.post("\(base)/v1/predictions", #"[{"id": 1}]"#)
            try await Task.sleep(for: .milliseconds(1200))
        }
        try await HTTP.eventually(.seconds(30), "Prometheus to scrape the window gauges") {
            let (_, body) = try await HTTP.get("\(api)/query?query=vigil_feature_drifted%3D%3D1")
            return body.contains("\"feature\":\"amount\"")
        }
        var failures: [String] = []
        for q in try Self.queries() {
            let expr = Self.substitute(q.expr)
            let encoded = expr.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? expr
            let (status, body) = try await HTTP.get("\(api)/query?query=\(encoded)")
            let json = try? JSONParser.parse(Array(body.utf8))
            if status != 200 || json?["status"]?.stringValue != "success" {
                failures.append("\(q.dashboard) / \(q.panel): \(expr) → \(status) \(body.prefix(300))")
            } else if json?["data"]?["result"]?.array.isEmpty != false {
                failures.append("\(q.dashboard) / \(q.panel): \(expr) → no data")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) panel queries failed:\n\(failures.joined(separator: "\n"))")
        // The variables' label_values() queries have values too.
        let (_, models) = try await HTTP.get("\(api)/label/model/values?match%5B%5D=vigil_window_predictions")
        #expect(models.contains("\"fraud\""))
        prometheus.stop()
        #expect(await vigil.terminate() == 0)
        withExtendedLifetime(directory) {}
    }
}
