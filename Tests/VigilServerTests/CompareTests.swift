import Foundation
import HummingbirdTesting
import Testing
import VigilCore
import VigilEngine
import VigilStats

@testable import VigilServer

/// `GET /v1/models/{m}/compare` end to end through HTTP (issue 12): traffic on two sides of a
/// model, labels for it, and the verdict the comparison gives.
@Suite struct CompareTests {
    static let t0: Int64 = 1_795_608_000_000

    /// A binary fraud model's side: `n` predictions, half predicted fraud, of which `precision`
    /// are fraud; of those predicted ok, `okPrecision` are ok. Seeded, so every run is the same.
    static func side(
        _ prefix: String, n: Int, precision: Double, okPrecision: Double = 0.9, version: String = "v1",
        variant: String? = nil, seed: UInt64
    ) -> (predictions: [JSONValue], labels: [JSONValue]) {
        var random = SplitMix64(state: seed)
        var predictions: [JSONValue] = []
        var labels: [JSONValue] = []
        for i in 0..<n {
            let fraud = i % 2 == 0
            let right = Double.random(in: 0..<1, using: &random) < (fraud ? precision : okPrecision)
            let truth = fraud == right ? "fraud" : "ok"
            var item: [(String, JSONValue)] = [
                ("id", .string("\(prefix)\(i)")), ("model", .string("fraud")), ("version", .string(version)),
                ("timestamp", .number(Double(t0 - 1_800_000 + Int64(i % 1000) * 1000) / 1000)),
                ("prediction", .string(fraud ? "fraud" : "ok")), ("confidence", .number(0.8)),
                ("features", .object([("amount", .number(Double(i % 100)))])),
            ]
            if let variant { item.append(("variant", .string(variant))) }
            predictions.append(.object(item))
            labels.append(.object([("id", .string("\(prefix)\(i)")), ("model", .string("fraud")), ("label", .string(truth))]))
        }
        return (predictions, labels)
    }

    static var config: VigilConfig {
        var config = VigilConfig()
        var model = ModelConfig()
        model.task = .binary
        model.positiveClass = "fraud"
        config.models["fraud"] = model
        return config
    }

    /// Runs `body` with traffic from `sides` stored, labels included.
    static func withTraffic(
        _ sides: [(predictions: [JSONValue], labels: [JSONValue])], config: VigilConfig = config,
        backend: Backend = .sqlite, _ body: @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let directory = try TemporaryDirectory()
        try await withEngineApp(config, clock: ManualClock(t0), store: try backend.freshStore(in: directory)) { client, _ in
            try await send(sides, to: client)
            try await body(client)
        }
    }

    /// Posts each side's predictions, then its labels, in batches under the per-request limit.
    static func send(_ sides: [(predictions: [JSONValue], labels: [JSONValue])], to client: any TestClientProtocol)
        async throws
    {
        for side in sides {
            for (path, items) in [("/v1/predictions", side.predictions), ("/v1/labels", side.labels)] {
                for start in stride(from: 0, to: items.count, by: 2_000) {
                    let batch = JSONWriter.string(.array(Array(items[start..<min(start + 2_000, items.count)])))
                    let (status, response, _) = try await client.send(.post, path, batch)
                    #expect(status == .ok)
                    #expect(response?["rejected"]?.numberValue ?? 0 == 0, "\(response.map(JSONWriter.string) ?? "")")
                }
            }
        }
    }

    static func compare(_ client: any TestClientProtocol, _ query: String) async throws -> JSONValue {
        let (status, document, text) = try await client.send(.get, "/v1/models/fraud/compare?\(query)")
        #expect(status == .ok, "\(text)")
        return try #require(document)
    }

    static func entry(_ document: JSONValue, _ name: String) -> JSONValue? {
        document["metrics"]?.array.first { $0["name"]?.stringValue == name }
    }

    @Test(arguments: Backend.all) func aClearlyWorseCandidateIsRolledBack(backend: Backend) async throws {
        let baseline = Self.side("b", n: 6_000, precision: 0.85, variant: "control", seed: 1)
        let candidate = Self.side("c", n: 6_000, precision: 0.70, version: "v2", variant: "canary", seed: 2)
        try await Self.withTraffic([baseline, candidate], backend: backend) { client in
            let document = try await Self.compare(client, "baseline=variant:control&candidate=variant:canary&window=1h")
            #expect(document["verdict"]?.stringValue == "rollback")
            let reason = try #require(document["reason"]?.stringValue)
            #expect(reason.hasPrefix("quality_precision fell by"), "\(reason)")
            #expect(document["baseline"]?["predictions"]?.numberValue == 6_000)
            #expect(document["candidate"]?["label_coverage"]?.numberValue == 1)
            let precision = try #require(Self.entry(document, "quality_precision"))
            let (b, c) = (precision["baseline"]!.numberValue!, precision["candidate"]!.numberValue!)
            #expect(abs(b - 0.85) < 0.02 && abs(c - 0.70) < 0.02)
            #expect(abs(precision["difference"]!.numberValue! - (c - b)) < 1e-12)
            #expect(precision["test"]?.stringValue == "two_proportion_z")
            #expect(precision["worse"] == .bool(true))
            #expect(precision["guardrail"] == .bool(true))
            #expect(precision["direction"]?.stringValue == "higher_is_better")
            // The always-valid interval is wider than the fixed-horizon one around the same difference.
            let fixed = try #require(precision["interval"]?.array.compactMap { $0.numberValue })
            let sequential = try #require(precision["sequential"]?["interval"]?.array.compactMap { $0.numberValue })
            #expect(sequential[0] < fixed[0] && fixed[1] < sequential[1] && sequential[1] < 0)
            #expect(precision["p_value_adjusted"]!.numberValue! >= precision["p_value"]!.numberValue!)
            #expect(precision["n"]?.array.compactMap { $0.numberValue } == [3_000, 3_000])
        }
    }

    @Test func aClearlyBetterCandidateIsPromoted() async throws {
        let baseline = Self.side("b", n: 6_000, precision: 0.85, variant: "control", seed: 3)
        let candidate = Self.side(
            "c", n: 6_000, precision: 0.92, okPrecision: 0.95, version: "v2", variant: "canary", seed: 4)
        try await Self.withTraffic([baseline, candidate]) { client in
            let document = try await Self.compare(client, "baseline=variant:control&candidate=variant:canary")
            #expect(document["verdict"]?.stringValue == "promote", "\(document["reason"]?.stringValue ?? "")")
            #expect(document["provisional"] == .bool(false))
            #expect(document["needed_per_side"] == .null)
            for name in ["quality_accuracy", "quality_precision", "quality_recall"] {
                let e = try #require(Self.entry(document, name))
                #expect(e["guardrail"] == .bool(true) && e["worse"] == .bool(false), "\(name)")
                #expect(e["margin"]?.numberValue == 0.01)
            }
            // With labels, CBPE's estimates are reported but are not the guardrails.
            #expect(Self.entry(document, "estimated_precision")?["guardrail"] == .bool(false))
            #expect(Self.entry(document, "estimated_precision")?["provisional"] == .bool(true))
        }
    }

    @Test func twelveAgainstTwelveIsInconclusiveWithTheSampleNeeded() async throws {
        let baseline = Self.side("b", n: 12, precision: 0.85, variant: "control", seed: 5)
        let candidate = Self.side("c", n: 12, precision: 0.70, version: "v2", variant: "canary", seed: 6)
        try await Self.withTraffic([baseline, candidate]) { client in
            let document = try await Self.compare(client, "baseline=variant:control&candidate=variant:canary")
            #expect(document["verdict"]?.stringValue == "inconclusive")
            #expect(document["reason"]?.stringValue?.hasPrefix("fewer than 200 predictions on a side") == true)
            let needed = try #require(document["needed_per_side"]?.numberValue)
            #expect(needed >= 200)
        }
    }

    @Test func aSideWithNoTrafficIsReportedNotAnError() async throws {
        let baseline = Self.side("b", n: 300, precision: 0.85, variant: "control", seed: 7)
        try await Self.withTraffic([baseline]) { client in
            let document = try await Self.compare(client, "baseline=variant:control&candidate=version:v9")
            #expect(document["candidate"]?["predictions"]?.numberValue == 0)
            #expect(document["verdict"]?.stringValue == "inconclusive")
            #expect(document["metrics"]?.array.isEmpty == true)
        }
    }

    @Test(arguments: [
        ("baseline=variant:control", 400), ("baseline=control&candidate=variant:canary", 400),
        ("baseline=variant:&candidate=variant:canary", 400), ("baseline=variant:a,variant:b&candidate=version:v1", 400),
        ("baseline=colour:red&candidate=version:v1", 400),
        ("baseline=variant:control&candidate=variant:canary&window=0m", 400),
    ])
    func malformedSidesAre400(query: String, status: Int) async throws {
        try await Self.withTraffic([Self.side("b", n: 10, precision: 0.85, variant: "control", seed: 8)]) { client in
            let (code, body, _) = try await client.send(.get, "/v1/models/fraud/compare?\(query)")
            #expect(Int(code.code) == status, "\(query)")
            #expect(body?["error"]?.stringValue != nil)
            let (missing, _, _) = try await client.send(
                .get, "/v1/models/nobody/compare?baseline=variant:a&candidate=variant:b")
            #expect(missing == .notFound)
        }
    }

    @Test(arguments: Backend.all) func shadowsReportAgreementAndPairedTests(backend: Backend) async throws {
        // Live predictions of v1 and shadow predictions of v2 on the same ids; one label each.
        var random = SplitMix64(state: 9)
        var live: [JSONValue] = []
        var shadow: [JSONValue] = []
        var labels: [JSONValue] = []
        var agree = 0
        for i in 0..<1_000 {
            let truth = i % 2 == 0 ? "fraud" : "ok"
            let other = truth == "fraud" ? "ok" : "fraud"
            let l = Double.random(in: 0..<1, using: &random) < 0.8 ? truth : other
            let s = Double.random(in: 0..<1, using: &random) < 0.9 ? truth : other
            if l == s { agree += 1 }
            let ts = JSONValue.number(Double(Self.t0 - 1_800_000 + Int64(i) * 1000) / 1000)
            for (list, version, variant, output) in [(0, "v1", nil, l), (1, "v2", "shadow", s)] as [(Int, String, String?, String)] {
                var item: [(String, JSONValue)] = [
                    ("id", .string("p\(i)")), ("model", .string("fraud")), ("version", .string(version)),
                    ("timestamp", ts), ("prediction", .string(output)), ("confidence", .number(0.8)),
                    ("metrics", .object([("latency_ms", .number(list == 0 ? 20 : 25))])),
                ]
                if let variant { item.append(("variant", .string(variant))) }
                if list == 0 { live.append(.object(item)) } else { shadow.append(.object(item)) }
            }
            labels.append(.object([("id", .string("p\(i)")), ("model", .string("fraud")), ("label", .string(truth))]))
        }
        let expectedAgreement = Double(agree) / 1_000
        try await Self.withTraffic([(live, []), (shadow, labels)], backend: backend) { client in
            let document = try await Self.compare(client, "baseline=version:v1&candidate=variant:shadow")
            let agreement = try #require(document["agreement"])
            #expect(agreement["n"]?.numberValue == 1_000)
            #expect(abs(agreement["rate"]!.numberValue! - expectedAgreement) < 1e-12)
            let matrix = try #require(agreement["matrix"]?["matrix"]?.array.map { $0.array.compactMap { $0.numberValue } })
            #expect(matrix.joined().reduce(0, +) == 1_000)
            #expect(agreement["matrix"]?["labels"]?.array.compactMap { $0.stringValue } == ["fraud", "ok"])
            let interval = try #require(agreement["interval"]?.array.compactMap { $0.numberValue })
            #expect(interval[0] < expectedAgreement && expectedAgreement < interval[1])
            // The live model's totals do not count the shadows.
            #expect(document["baseline"]?["predictions"]?.numberValue == 1_000)
            #expect(document["candidate"]?["predictions"]?.numberValue == 1_000)
            let paired = try #require(document["paired"]?.array)
            let mcnemar = try #require(paired.first { $0["test"]?.stringValue == "mcnemar" })
            #expect(mcnemar["n"]?.numberValue == 1_000)
            #expect(mcnemar["candidate"]!.numberValue! > mcnemar["baseline"]!.numberValue!)
            #expect(mcnemar["p_value"]!.numberValue! < 0.001)
            let latency = try #require(paired.first { $0["metric_name"]?.stringValue == "latency_ms" })
            #expect(latency["test"]?.stringValue == "paired_t")
            #expect(latency["candidate"]?.numberValue == 25 && latency["baseline"]?.numberValue == 20)
        }
    }

    @Test func aGenerativeModelBreakingItsHallucinationLimitIsRolledBack() async throws {
        var config = VigilConfig()
        var model = ModelConfig()
        model.task = .generative
        model.segments = [["region"]]
        model.release.guardrails = [
            ReleaseMetricConfig(metric: "label_metric_mean", name: "hallucination", direction: .lowerIsBetter, margin: 0.01, limit: 0.05)
        ]
        config.models["chat"] = model
        func side(_ prefix: String, variant: String, rate: Int) -> (predictions: [JSONValue], labels: [JSONValue]) {
            var predictions: [JSONValue] = []
            var labels: [JSONValue] = []
            for i in 0..<400 {
                predictions.append(.object([
                    ("id", .string("\(prefix)\(i)")), ("model", .string("chat")), ("variant", .string(variant)),
                    ("timestamp", .number(Double(Self.t0 - 1_800_000 + Int64(i) * 1000) / 1000)),
                    ("prediction", .string("an answer")),
                    ("segments", .object([("region", .string(i % 2 == 0 ? "eu" : "latam"))])),
                    ("metrics", .object([("cost_usd", .number(0.01))])),
                ]))
                labels.append(.object([
                    ("id", .string("\(prefix)\(i)")), ("model", .string("chat")),
                    ("metrics", .object([("hallucination", .number(i % 100 < rate ? 1 : 0))])),
                ]))
            }
            return (predictions, labels)
        }
        try await Self.withTraffic([side("b", variant: "control", rate: 2), side("c", variant: "canary", rate: 8)], config: config) { client in
            let (status, document, text) = try await client.send(
                .get, "/v1/models/chat/compare?baseline=variant:control&candidate=variant:canary")
            #expect(status == .ok, "\(text)")
            #expect(document?["verdict"]?.stringValue == "rollback")
            let reason = try #require(document?["reason"]?.stringValue)
            #expect(reason.contains("hallucination") && reason.contains("above its limit 0.05"), "\(reason)")
            let entry = try #require(document?["metrics"]?.array.first { $0["metric_name"]?.stringValue == "hallucination" })
            #expect(entry["limit"]?.numberValue == 0.05)
            #expect(abs(entry["candidate"]!.numberValue! - 0.08) < 1e-12)
            // Per segment group too, never a guardrail itself (it holds a promotion back).
            let latam = try #require(
                document?["metrics"]?.array.first {
                    $0["metric_name"]?.stringValue == "hallucination" && $0["group"]?.stringValue == "latam"
                })
            #expect(latam["segment"]?.stringValue == "region" && latam["guardrail"] == .bool(false))
            #expect(latam["direction"]?.stringValue == "lower_is_better" && latam["n"]?.array.count == 2)
            let (_, metrics, _) = try await client.send(.get, "/v1/models/chat/metrics?window=1h&variant=canary")
            let group = metrics?["fairness"]?["region"]?["groups"]?["eu"]
            #expect(group?["label_metrics"]?["hallucination"]?["count"]?.numberValue == 200)
            #expect(abs((group?["metrics"]?["cost_usd"]?["sum"]?.numberValue ?? 0) - 2) < 1e-9)
            #expect(abs((metrics?["metrics"]?["cost_usd"]?["sum"]?.numberValue ?? 0) - 4) < 1e-9)
        }
    }
}

/// Acting on the verdict (issue 12): a comparison rule fires while its verdict holds, the
/// watched comparisons are exported as `vigil_compare_*`, and the configuration is checked.
@Suite struct ComparisonRuleTests {
    static let yaml = """
        models:
          fraud:
            task: binary
            positive_class: fraud
            release:
              min_samples: 100
              watch: [{baseline: "variant:control", candidate: "variant:canary", window: 1h}]
        alerts:
          - {name: CanaryRollback, model: fraud, compare: {baseline: "variant:control", candidate: "variant:canary"}, verdict: rollback, window: 1h, for: 0s, severity: critical}
          - {name: CanaryPromote, model: fraud, compare: {baseline: "variant:control", candidate: "variant:canary"}, verdict: promote, window: 1h, for: 0s}
        """

    @Test(arguments: Backend.all)
    func aComparisonRuleFiresOnItsVerdictAndTheComparisonIsExported(backend: Backend) async throws {
        let config = try ConfigLoader.parse(yaml: Self.yaml)
        let rule = try #require(config.alerts.first)
        #expect(rule.compare == ComparisonPair(baseline: ComparisonSide(variant: "control"), candidate: ComparisonSide(variant: "canary")))
        #expect(rule.verdict == .rollback && rule.metric == "compare_verdict")
        #expect(config.models["fraud"]?.release.watch.count == 1)
        let baseline = CompareTests.side("b", n: 3_000, precision: 0.85, variant: "control", seed: 11)
        let candidate = CompareTests.side("c", n: 3_000, precision: 0.65, version: "v2", variant: "canary", seed: 12)
        let clock = ManualClock(CompareTests.t0)
        let directory = try TemporaryDirectory()
        try await withEngineApp(config, clock: clock, store: try backend.freshStore(in: directory)) { client, engine in
            try await CompareTests.send([baseline, candidate], to: client)
            await engine.evaluate(at: clock.now)
            let (_, alerts, _) = try await client.send(.get, "/v1/alerts?state=firing")
            let firing = try #require(alerts?["alerts"]?.array)
            #expect(firing.count == 1)
            let labels = try #require(firing.first?["labels"])
            #expect(labels["alertname"]?.stringValue == "CanaryRollback")
            #expect(labels["candidate"]?.stringValue == "variant:canary" && labels["verdict"]?.stringValue == "rollback")

            let (_, _, text) = try await client.send(.get, "/metrics")
            let verdicts = text.split(separator: "\n").filter { $0.hasPrefix("vigil_compare_verdict{") }
            #expect(verdicts.count == 3)
            #expect(verdicts.contains(#"vigil_compare_verdict{model="fraud",window="1h",baseline="variant:control",candidate="variant:canary",verdict="rollback"} 1"#))
            #expect(verdicts.contains(#"vigil_compare_verdict{model="fraud",window="1h",baseline="variant:control",candidate="variant:canary",verdict="promote"} 0"#))
            let precision = try #require(text.split(separator: "\n").first {
                $0.hasPrefix(#"vigil_compare_difference{model="fraud",window="1h",baseline="variant:control",candidate="variant:canary",metric="quality_precision"} "#)
            })
            let value = try #require(Double(precision.split(separator: " ").last!))
            #expect(value < -0.1 && value > -0.3)
            if Promtool.shouldRun {
                let (status, output) = try Promtool.checkMetrics(text)
                #expect(status == 0, "\(output)")
            }
        }
    }

    @Test(arguments: [
        ("{name: R, model: fraud, compare: {baseline: \"variant:a\"}, verdict: rollback, window: 1h}", "needs candidate"),
        ("{name: R, model: fraud, compare: {baseline: \"variant:a\", candidate: \"colour:b\"}, verdict: rollback, window: 1h}", "is not version or variant"),
        ("{name: R, model: fraud, compare: {baseline: \"variant:a\", candidate: \"variant:b\"}, verdict: maybe, window: 1h}", "verdict"),
        ("{name: R, model: fraud, compare: {baseline: \"variant:a\", candidate: \"variant:b\"}, verdict: rollback, window: 1h, op: \">\"}", "does not apply"),
        ("{name: R, compare: {baseline: \"variant:a\", candidate: \"variant:b\"}, verdict: rollback, window: 1h}", "needs model"),
        ("{name: R, model: fraud, metric: compare_verdict, op: \"==\", threshold: 1, window: 1h}", "takes compare"),
        ("{name: R, model: fraud, metric: quality_precision, op: \"<\", threshold: 1, window: 1h, verdict: rollback}", "only to a rule with compare"),
    ])
    func malformedComparisonRulesAreRefused(rule: String, message: String) {
        #expect(throws: (any Error).self) { try ConfigLoader.parse(yaml: "alerts:\n  - \(rule)\n") }
        do {
            _ = try ConfigLoader.parse(yaml: "alerts:\n  - \(rule)\n")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
        }
    }

    @Test func releaseConfigurationIsChecked() {
        for (yaml, message) in [
            ("release: {guardrails: [{metric: quality_f2}]}", "metric must be one of"),
            ("release: {guardrails: [{metric: metric_value}]}", "needs the metric's name"),
            ("release: {guardrails: [{metric: metric_value, name: tokens}]}", "give a direction"),
            ("release: {guardrails: [{metric: quality_precision, margin: -1}]}", "must not be negative"),
            ("release: {success: [{metric: quality_precision, limit: 0.5}]}", "a success metric has no limit"),
            ("release: {watch: [{baseline: \"variant:a\", candidate: \"variant:a\"}]}", "the same side"),
            ("release: {min_samples: 0}", "min_samples"),
        ] {
            do {
                _ = try ConfigLoader.parse(yaml: "models:\n  m:\n    \(yaml)\n")
                Issue.record("accepted: \(yaml)")
            } catch {
                #expect("\(error)".contains(message), "\(yaml): \(error)")
            }
        }
    }
}

/// `POST /v1/gates/flagger` (DESIGN §7): Flagger's webhook answered from the verdict.
@Suite struct FlaggerGateTests {
    static func payload(_ phase: String, candidate: String = "variant:canary", model: String = "fraud") -> String {
        #"{"name": "fraud", "namespace": "serving", "phase": "\#(phase)", "checksum": "abc", "metadata": {"model": "\#(model)", "baseline": "variant:control", "candidate": "\#(candidate)", "window": "1h"}}"#
    }

    @Test func theGateFollowsTheVerdict() async throws {
        let baseline = CompareTests.side("b", n: 6_000, precision: 0.85, variant: "control", seed: 31)
        let worse = CompareTests.side("c", n: 6_000, precision: 0.70, version: "v2", variant: "canary", seed: 32)
        let better = CompareTests.side("d", n: 6_000, precision: 0.92, okPrecision: 0.95, version: "v3", variant: "better", seed: 33)
        try await CompareTests.withTraffic([baseline, worse, better]) { client in
            for (phase, candidate, status, verdict) in [
                ("rollout", "variant:canary", 403, "rollback"), ("confirm-promotion", "variant:canary", 403, "rollback"),
                ("rollback", "variant:canary", 200, "rollback"), ("rollout", "variant:better", 200, "promote"),
                ("confirm-promotion", "variant:better", 200, "promote"), ("rollback", "variant:better", 403, "promote"),
            ] {
                let (code, body, text) = try await client.send(.post, "/v1/gates/flagger", Self.payload(phase, candidate: candidate))
                #expect(Int(code.code) == status, "\(phase) \(candidate): \(text)")
                #expect(body?["verdict"]?.stringValue == verdict)
                #expect(body?["allowed"] == .bool(status == 200))
            }
            let (missing, _, _) = try await client.send(.post, "/v1/gates/flagger", Self.payload("rollout", model: "nobody"))
            #expect(missing == .notFound)
            for bad in [#"{"phase": "rollout"}"#, "not json", #"{"phase": "rollout", "metadata": {"model": "fraud", "baseline": "x", "candidate": "variant:a"}}"#] {
                let (code, body, _) = try await client.send(.post, "/v1/gates/flagger", bad)
                #expect(code == .badRequest, "\(bad)")
                #expect(body?["error"]?.stringValue != nil)
            }
        }
    }

    /// Too few samples on a side: inconclusive — a rollout step may go on, a promotion may not.
    @Test func anInconclusiveVerdictHoldsPromotionButNotTheRollout() async throws {
        let baseline = CompareTests.side("b", n: 20, precision: 0.85, variant: "control", seed: 34)
        let candidate = CompareTests.side("c", n: 20, precision: 0.85, variant: "canary", seed: 35)
        try await CompareTests.withTraffic([baseline, candidate]) { client in
            let rollout = try await client.send(.post, "/v1/gates/flagger", Self.payload("rollout")).0
            let promotion = try await client.send(.post, "/v1/gates/flagger", Self.payload("confirm-promotion")).0
            #expect(rollout == .ok)
            #expect(promotion == .forbidden)
        }
    }
}

/// Ordinary rules may name a version or a variant (issue 12): they read that series' window.
@Suite struct SeriesRuleTests {
    @Test func aRuleOnAVariantSeesOnlyThatVariant() async throws {
        let yaml = """
            models:
              fraud: {task: binary, positive_class: fraud}
            alerts:
              - {name: CanaryPrecision, model: fraud, variant: canary, metric: quality_precision, op: "<", threshold: 0.8, window: 1h, min_samples: 100}
              - {name: ControlPrecision, model: fraud, variant: control, metric: quality_precision, op: "<", threshold: 0.8, window: 1h, min_samples: 100}
              - {name: V2Precision, model: fraud, version: v2, metric: quality_precision, op: "<", threshold: 0.8, window: 1h, min_samples: 100}
            """
        let config = try ConfigLoader.parse(yaml: yaml)
        #expect(config.alerts[0].variant == "canary" && config.alerts[2].version == "v2")
        let clock = ManualClock(CompareTests.t0)
        try await withEngineApp(config, clock: clock) { client, engine in
            try await CompareTests.send(
                [
                    CompareTests.side("b", n: 2_000, precision: 0.9, variant: "control", seed: 41),
                    CompareTests.side("c", n: 2_000, precision: 0.6, version: "v2", variant: "canary", seed: 42),
                ], to: client)
            await engine.evaluate(at: clock.now)
            let (_, alerts, _) = try await client.send(.get, "/v1/alerts?state=firing")
            let firing = try #require(alerts?["alerts"]?.array)
            let names = Set(firing.compactMap { $0["labels"]?["alertname"]?.stringValue })
            #expect(names == ["CanaryPrecision", "V2Precision"])
            let canary = try #require(firing.first { $0["labels"]?["alertname"]?.stringValue == "CanaryPrecision" })
            #expect(canary["labels"]?["variant"]?.stringValue == "canary")
            #expect(abs((canary["value"]?.numberValue ?? 0) - 0.6) < 0.05)
        }
    }
}
