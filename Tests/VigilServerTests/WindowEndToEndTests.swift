import Foundation
import HummingbirdTesting
import Testing
import VigilCore

@testable import VigilServer

/// The scenario `tools/fixtures/generate_e2e.py` wrote, with the values scipy, scikit-learn,
/// statsmodels, Fairlearn and NannyML computed on its rows.
struct EndToEndFixture {
    let root: JSONValue
    var now: Int64 { Int64(root["now"]!.numberValue!) * 1000 }
    var expected: JSONValue { root["expected"]! }

    static func load() throws -> EndToEndFixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Fixtures/e2e.json")
        return EndToEndFixture(root: try JSONParser.parse(Array(try Data(contentsOf: url))))
    }

    func items(_ key: String) -> [JSONValue] { root[key]!.array }

    static func body(_ items: [JSONValue]) -> String { JSONWriter.string(.array(items)) }

    static var config: VigilConfig {
        var config = VigilConfig()
        var model = ModelConfig()
        model.task = .binary
        model.positiveClass = "fraud"
        model.segments = [["region"], ["gender"], ["region", "gender"]]
        config.models["fraud"] = model
        return config
    }

    /// Uploads the reference, then sends the current traffic and its labels as the scenario
    /// says: some labels before their prediction, one corrected, the rest late and shuffled.
    func replay(_ client: some TestClientProtocol) async throws {
        let (status, body, text) = try await client.send(
            .put, "/v1/models/fraud/reference", Self.body(items("reference")))
        #expect(status == .ok, "\(text)")
        #expect(body?["rows"]?.int == 2000)
        let labels = items("labels")
        let early = Set(root["early_labels"]!.array.compactMap(\.stringValue))
        let corrected = root["corrected"]!.stringValue!
        try await client.send(.post, "/v1/labels", Self.body(labels.filter { early.contains($0["id"]!.stringValue!) }))
        let truth = labels.first { $0["id"]?.stringValue == corrected }!["label"]!.stringValue!
        let wrong: JSONValue = .object([
            ("id", .string(corrected)), ("model", .string("fraud")),
            ("label", .string(truth == "fraud" ? "ok" : "fraud")),
        ])
        let current = items("current")
        for start in stride(from: 0, to: current.count, by: 50) {
            let (status, body, _) = try await client.send(
                .post, "/v1/predictions", Self.body(Array(current[start..<min(start + 50, current.count)])))
            #expect(status == .ok)
            #expect(body?["rejected"]?.int == 0)
        }
        try await client.send(.post, "/v1/labels", Self.body([wrong]))
        let late = labels.filter { !early.contains($0["id"]!.stringValue!) }
        for start in stride(from: 0, to: late.count, by: 45) {
            let (status, body, _) = try await client.send(
                .post, "/v1/labels", Self.body(Array(late[start..<min(start + 45, late.count)])))
            #expect(status == .ok)
            #expect(body?["rejected"]?.int == 0)
        }
    }
}

/// Compares a document value with the reference libraries' within the statistics tolerances.
func expectAgree(
    _ actual: JSONValue?, _ expected: JSONValue?, _ what: String, p: Bool = false,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let a = actual?.numberValue
    let e = expected?.numberValue
    #expect(
        a != nil && e != nil, "\(what): missing (\(String(describing: actual)) vs \(String(describing: expected)))",
        sourceLocation: sourceLocation)
    guard let a, let e else { return }
    let ok = p ? (a == e || abs(a - e) <= 1e-6 * abs(e)) : (a == e || abs(a - e) <= max(1e-12, 1e-9 * abs(e)))
    #expect(ok, "\(what): \(a) vs reference \(e)", sourceLocation: sourceLocation)
}

@Suite struct WindowEndToEndTests {
    @Test(arguments: Backend.all) func documentMatchesTheReferenceLibraries(backend: Backend) async throws {
        let fixture = try EndToEndFixture.load()
        let clock = ManualClock(fixture.now - 3_600_000)
        let directory = try TemporaryDirectory()
        let store = try backend.freshStore(in: directory)
        try await withEngineApp(EndToEndFixture.config, clock: clock, store: store) { client, engine in
            try await fixture.replay(client)
            clock.set(fixture.now)
            await engine.evaluate(at: fixture.now)
            let (status, body, text) = try await client.send(.get, "/v1/models/fraud/metrics?window=1h")
            #expect(status == .ok, "\(text)")
            let doc = try #require(body)
            #expect(!text.contains("NaN") && !text.contains("Infinity"))
            Self.check(doc, against: fixture.expected)
        }
    }

    static func check(_ doc: JSONValue, against x: JSONValue) {
        #expect(doc["counts"]?["predictions"]?.int == x["predictions"]?.int)
        #expect(doc["counts"]?["labeled"]?.int == x["labeled"]?.int)
        expectAgree(doc["counts"]?["label_coverage"], x["label_coverage"], "label coverage")
        // Drift, per feature.
        for member in x["features"]!.objectValue!.members {
            let name = member.key
            let e = member.value
            let d = doc["drift"]?["features"]?[name]
            #expect(d?["type"]?.stringValue == e["type"]?.stringValue, "\(name) type")
            expectAgree(d?["psi"], e["psi"], "\(name) psi")
            expectAgree(d?["js_distance"], e["js_distance"], "\(name) js")
            let test = e["type"]?.stringValue == "numeric" ? d?["ks"] : d?["chi2"]
            expectAgree(
                test?["statistic"], e[e["type"]?.stringValue == "numeric" ? "ks_statistic" : "chi2_statistic"],
                "\(name) statistic")
            expectAgree(test?["p_value"], e["p_value"], "\(name) p", p: true)
            expectAgree(test?["p_value_adjusted"], e["p_value_adjusted"], "\(name) adjusted p", p: true)
            if e["type"]?.stringValue == "numeric" {
                expectAgree(d?["wasserstein"], e["wasserstein"], "\(name) wasserstein")
            } else {
                #expect(d?["new_categories"] == e["new_categories"], "\(name) new categories")
            }
            #expect(d?["drifted"] == e["drifted"], "\(name) drifted")
        }
        expectAgree(doc["drift"]?["drifted_share"], x["drifted_share"], "drifted share")
        expectAgree(doc["drift"]?["prediction"]?["psi"], x["prediction"]?["psi"], "prediction psi")
        expectAgree(
            doc["drift"]?["prediction"]?["chi2"]?["p_value"], x["prediction"]?["p_value"], "prediction p", p: true)
        expectAgree(doc["drift"]?["confidence"]?["psi"], x["confidence"]?["psi"], "confidence psi")
        expectAgree(doc["drift"]?["confidence"]?["ks"]?["statistic"], x["confidence"]?["ks_statistic"], "confidence ks")
        // Quality (scikit-learn, statsmodels' Wilson intervals).
        let q = doc["quality"]
        for key in ["accuracy", "precision", "recall", "f1"] { expectAgree(q?[key], x["quality"]?[key], key) }
        for member in x["quality"]!["per_class"]!.objectValue!.members {
            for key in ["precision", "recall", "f1"] {
                expectAgree(q?["per_class"]?[member.key]?[key], member.value[key], "\(member.key) \(key)")
            }
            #expect(q?["per_class"]?[member.key]?["support"]?.int == member.value["support"]?.int)
        }
        #expect(q?["confusion_matrix"] == x["quality"]?["confusion_matrix"])
        for member in x["quality"]!["intervals"]!.objectValue!.members {
            expectAgree(q?["intervals"]?[member.key]?[0], member.value[0], "\(member.key) interval low")
            expectAgree(q?["intervals"]?[member.key]?[1], member.value[1], "\(member.key) interval high")
        }
        // NannyML CBPE, calibrated on the labelled reference.
        for key in ["precision", "recall", "f1", "accuracy"] {
            expectAgree(doc["estimated"]?[key], x["estimated"]?[key], "estimated \(key)")
        }
        #expect(doc["estimated"]?["calibrated"] == .bool(true))
        expectAgree(doc["calibration"]?["ece"], x["calibration"]?["ece"], "ece")
        expectAgree(doc["calibration"]?["brier"], x["calibration"]?["brier"], "brier")
        // Fairlearn, per segment and intersection.
        for segment in x["fairness"]!.objectValue!.members {
            let s = doc["fairness"]?[segment.key]
            for key in [
                "demographic_parity_difference", "demographic_parity_ratio", "equal_opportunity_difference",
                "equalized_odds_difference",
            ] {
                expectAgree(s?[key], segment.value[key], "\(segment.key) \(key)")
            }
            for group in segment.value["groups"]!.objectValue!.members {
                #expect(s?["groups"]?[group.key]?["count"]?.int == group.value["count"]?.int)
                for key in ["selection_rate", "tpr", "fpr", "precision", "accuracy"] where group.value[key] != nil {
                    expectAgree(s?["groups"]?[group.key]?[key], group.value[key], "\(segment.key)/\(group.key) \(key)")
                }
            }
        }
        expectAgree(doc["data_quality"]?["missing_ratio"]?["age"], x["missing_ratio"]?["age"], "missing age")
        for key in ["mean", "p50", "p95", "p99"] {
            expectAgree(doc["metrics"]?["latency_ms"]?[key], x["metrics"]?["latency_ms"]?[key], "latency \(key)")
        }
    }
}
