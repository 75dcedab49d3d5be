import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import VigilCore

@testable import VigilServer

/// `/metrics` window families (DESIGN §6) for several models, versions, segments and windows.
@Suite struct WindowMetricsTests {
    static let now: Int64 = 1_795_608_000_000

    static var config: VigilConfig {
        var config = VigilConfig()
        var fraud = ModelConfig()
        fraud.positiveClass = "fraud"
        fraud.segments = [["region"], ["region", "gender"]]
        fraud.ranges = ["amount": 0...1000]
        fraud.referenceFirst = 40
        config.models["fraud"] = fraud
        var churn = ModelConfig()
        churn.task = .multiclass
        churn.referenceFirst = 40
        config.models["churn"] = churn
        var price = ModelConfig()
        price.task = .regression
        price.referenceFirst = 40
        config.models["price"] = price
        return config
    }

    /// Traffic for three models, two versions each, with segments, custom metrics and labels.
    static func feed(_ client: some TestClientProtocol, at now: Int64) async throws {
        var predictions: [JSONValue] = []
        var labels: [JSONValue] = []
        for i in 0..<240 {
            let version = i % 2 == 0 ? "v1" : "v2"
            let ts = Double(now) / 1000 - 3000 + Double(i) * 10
            let segments: JSONValue = .object([
                ("region", .string(["eu", "us", "a \"quoted\\ région"][i % 3])),
                ("gender", .string(i % 4 < 2 ? "f" : "m")),
            ])
            let features: JSONValue = .object([
                ("amount", .number(Double(i % 50) * (i < 120 ? 10 : 25))),
                ("country", .string(["DE", "FR", "US"][i % 3])),
            ])
            let output = ["fraud", "ok", "ok"][i % 3]
            predictions.append(
                .object([
                    ("id", .string("f\(i)")), ("model", .string("fraud")), ("version", .string(version)),
                    ("timestamp", .number(ts)), ("prediction", .string(output)),
                    ("confidence", .number(0.5 + Double(i % 5) / 10)), ("features", features), ("segments", segments),
                    ("metrics", .object([("latency_ms", .number(Double(10 + i % 40)))])),
                ]))
            predictions.append(
                .object([
                    ("id", .string("c\(i)")), ("model", .string("churn")), ("version", .string(version)),
                    ("timestamp", .number(ts)), ("prediction", .string(["stay", "leave", "pause"][i % 3])),
                    ("features", features), ("segments", segments),
                ]))
            predictions.append(
                .object([
                    ("id", .string("p\(i)")), ("model", .string("price")), ("version", .string(version)),
                    ("timestamp", .number(ts)), ("prediction", .number(Double(i) + 0.5)), ("features", features),
                ]))
            if i % 2 == 0 {
                labels.append(
                    .object([
                        ("id", .string("f\(i)")), ("model", .string("fraud")),
                        ("label", .string(i % 4 == 0 ? "fraud" : "ok")),
                    ]))
                labels.append(
                    .object([("id", .string("c\(i)")), ("model", .string("churn")), ("label", .string("stay"))]))
                labels.append(
                    .object([("id", .string("p\(i)")), ("model", .string("price")), ("label", .number(Double(i)))]))
            }
        }
        let (status, body, _) = try await client.send(.post, "/v1/predictions", JSONWriter.string(.array(predictions)))
        #expect(status == .ok)
        #expect(body?["accepted"]?.int == 720)
        try await client.send(.post, "/v1/labels", JSONWriter.string(.array(labels)))
    }

    @Test(arguments: Backend.all) func exportsEveryWindowFamilyAndDropsVanishedSeries(backend: Backend) async throws {
        let clock = ManualClock(Self.now)
        let directory = try TemporaryDirectory()
        try await withEngineApp(Self.config, clock: clock, store: try backend.freshStore(in: directory)) { client, engine in
            try await Self.feed(client, at: Self.now)
            await engine.evaluate(at: Self.now)  // builds the first-40 references
            await engine.evaluate(at: Self.now)
            let (_, _, text) = try await client.send(.get, "/metrics")
            for family in [
                #"vigil_window_predictions{model="fraud",version="v1",window="1h"} 120"#,
                #"vigil_feature_drift_psi{model="fraud",version="v2",window="24h",feature="amount"}"#,
                #"vigil_feature_drift_pvalue{model="churn",version="v1",window="1h",feature="country"}"#,
                #"vigil_feature_drifted{model="fraud",version="v1",window="1h",feature="amount"}"#,
                #"vigil_prediction_drift_psi{model="price",version="v1",window="1h"}"#,
                #"vigil_confidence_drift_psi{model="fraud",version="v1",window="1h"}"#,
                #"vigil_quality_precision{model="fraud",version="v1",window="1h"}"#,
                #"vigil_quality_accuracy{model="churn",version="v1",window="24h"}"#,
                #"vigil_quality_rmse{model="price",version="v1",window="1h"}"#,
                #"vigil_estimated_precision{model="fraud",version="v2",window="1h"}"#,
                #"vigil_segment_selection_rate{model="fraud",version="v1",window="1h",segment="region×gender",group="eu×f"}"#,
                #"vigil_segment_tpr{model="fraud",version="v1",window="1h",segment="region",group="a \"quoted\\ région"}"#,
                #"vigil_fairness_equalized_odds_difference{model="fraud",version="v1",window="1h",segment="region"}"#,
                #"vigil_feature_missing_ratio{model="fraud",version="v1",window="1h",feature="country"} 0"#,
                #"vigil_feature_out_of_range_ratio{model="fraud",version="v1",window="1h",feature="amount"}"#,
                #"vigil_metric_value{model="fraud",version="v1",window="1h",metric="latency_ms",stat="p95",source="prediction"}"#,
                #"vigil_label_coverage_ratio{model="price",version="v2",window="24h"}"#,
            ] {
                #expect(text.contains(family), "missing \(family)")
            }
            if Promtool.shouldRun {
                let (status, output) = try Promtool.checkMetrics(text)
                #expect(status == 0, "promtool check metrics failed: \(output)")
                #expect(output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "promtool lint: \(output)")
            }
            // Two days on, every version series has left memory: its window series go away.
            let later = Self.now + 2 * 86_400_000
            clock.set(later)
            await engine.evaluate(at: later)
            let (_, _, after) = try await client.send(.get, "/metrics")
            #expect(!after.contains(#"version="v1",window="#))
            #expect(!after.contains("vigil_feature_drift_psi{"))
            #expect(after.contains(#"vigil_predictions_total{model="fraud",version="v1"} 120"#))
        }
    }

    @Test func aScrapeComputesNothing() async throws {
        let clock = ManualClock(Self.now)
        try await withEngineApp(Self.config, clock: clock) { client, engine in
            try await Self.feed(client, at: Self.now)
            let (_, _, before) = try await client.send(.get, "/metrics")
            #expect(!before.contains("vigil_window_predictions"))
            await engine.evaluate(at: Self.now)
            let (_, _, after) = try await client.send(.get, "/metrics")
            #expect(after.contains(#"vigil_window_predictions{model="churn",version="v2",window="5m"}"#))
        }
    }
}
