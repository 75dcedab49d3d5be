import Foundation
import Testing
import VigilCore
import VigilDemo

/// Issue 14: `vigil demo --chaos`, the fault-injecting proxy for a model's live traffic.
@Suite struct ChaosFaultTests {
    @Test(arguments: [
        ("quality-drop=0.3", ChaosFault.qualityDrop(fraction: 0.3)),
        ("segment-bias=region:eu:0.5", .segmentBias(attribute: "region", value: "eu", fraction: 0.5)),
        ("latency=+250", .latency(milliseconds: 250, metric: "latency_ms")),
        ("latency=+40:ttft_ms", .latency(milliseconds: 40, metric: "ttft_ms")),
        ("drift=amount*3", .drift(feature: "amount", factor: 3)),
    ])
    func faultsParse(text: String, fault: ChaosFault) throws {
        #expect(try ChaosFault.parse(text).get() == fault)
    }

    @Test(arguments: [
        "quality-drop=1.5", "quality-drop", "segment-bias=region:0.5", "segment-bias=:eu:0.5", "latency=250", "latency=+x",
        "drift=amount", "drift=amount*inf", "meltdown=1",
    ])
    func badFaultsAreRefused(text: String) {
        #expect(throws: ChaosFaultError.self) { try ChaosFault.parse(text).get() }
    }

    static func event(_ id: Int, model: String = "m", prediction: String, region: String) -> JSONObject {
        JSONObject([
            JSONMember(key: "id", value: .string("e\(id)")), JSONMember(key: "model", value: .string(model)),
            JSONMember(key: "prediction", value: .string(prediction)),
            JSONMember(key: "segments", value: .object(JSONObject([JSONMember(key: "region", value: .string(region))]))),
        ])
    }

    /// A segment bias changes only that segment's answers, at about the stated rate, always to
    /// another class; other models pass untouched.
    @Test func aSegmentBiasTouchesOnlyItsSegment() {
        var injector = ChaosInjector(model: "m", faults: [.segmentBias(attribute: "region", value: "eu", fraction: 0.5)], seed: 7)
        injector.observe(Self.event(0, prediction: "b", region: "us"))
        var flipped = (eu: 0, us: 0)
        for i in 0..<2_000 {
            let region = i % 2 == 0 ? "eu" : "us"
            let (out, changed) = injector.apply(Self.event(i, prediction: "a", region: region))
            #expect(changed == (out["prediction"]?.stringValue == "b"))
            if changed { if region == "eu" { flipped.eu += 1 } else { flipped.us += 1 } }
        }
        #expect(flipped.us == 0)
        #expect((430...570).contains(flipped.eu), "\(flipped.eu) of 1,000 eu predictions changed")
        let (other, changed) = injector.apply(Self.event(1, model: "other", prediction: "a", region: "eu"))
        #expect(!changed && other == Self.event(1, model: "other", prediction: "a", region: "eu"))
    }

    /// Latency is added where the prediction reports the metric; drift scales a numeric feature.
    @Test func latencyAndDriftChangeTheirValuesOnly() throws {
        var injector = ChaosInjector(model: "m", faults: [.latency(milliseconds: 250, metric: "latency_ms"), .drift(feature: "amount", factor: 3)])
        let event = try #require(
            try JSONParser.parse(Array(#"{"id": "1", "model": "m", "prediction": "a", "features": {"amount": 12.5, "country": "DE"}, "metrics": {"latency_ms": 40, "cost": 1}}"#.utf8)).objectValue)
        let (out, changed) = injector.apply(event)
        #expect(changed)
        #expect(out["metrics"]?.objectValue?["latency_ms"]?.numberValue == 290)
        #expect(out["metrics"]?.objectValue?["cost"]?.numberValue == 1)
        #expect(out["features"]?.objectValue?["amount"]?.numberValue == 37.5)
        #expect(out["features"]?.objectValue?["country"]?.stringValue == "DE")
        #expect(out["prediction"]?.stringValue == "a")
        let bare = try #require(try JSONParser.parse(Array(#"{"id": "2", "model": "m", "prediction": "a"}"#.utf8)).objectValue)
        let (same, touched) = injector.apply(bare)
        #expect(!touched && same["metrics"] == nil, "no latency metric is invented")
    }
}

/// The proxy on the real binary between a client and a real Vigil.
@Suite struct ChaosProxyTests {
    @Test func theProxyAltersOnlyTheChosenModelsPredictions() async throws {
        let directory = try TemporaryDirectory()
        let vigil = try await VigilProcess.serve(db: directory.path("vigil.db"), logPath: directory.path("vigil.log"))
        let proxy = try VigilProcess(
            arguments: [
                "demo", "--chaos", "--upstream", "http://127.0.0.1:\(vigil.port)", "--port", "0", "--model", "m",
                "--fault", "quality-drop=1", "--fault", "latency=+500", "--fault", "drift=x*3",
            ], logPath: directory.path("proxy.log"))
        var base = ""
        let deadline = ContinuousClock.now + .seconds(60)
        while base.isEmpty, ContinuousClock.now < deadline {
            let text = (try? String(contentsOfFile: directory.path("proxy.log"), encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Vigil chaos proxy: ") }) {
                base = String(line.dropFirst("Vigil chaos proxy: ".count).prefix { $0 != " " })
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        try #require(!base.isEmpty, "the proxy never said where it listens")
        // 150 "a" and 50 "b" mixed, half as a JSON array and half as NDJSON (wrong answers come
        // from the classes seen, so the first request shows both); one event of another model.
        let events = (0..<200).map { i in
            #"{"id": "e\#(i)", "model": "m", "prediction": "\#(i % 4 == 0 ? "b" : "a")", "features": {"x": 10}, "metrics": {"latency_ms": 10}}"#
        }
        let array = try await HTTP.post("\(base)/v1/predictions", "[" + events[0..<100].joined(separator: ",") + "]")
        #expect(array.status == 200 && array.body.contains(#""accepted":100"#), "\(array)")
        let ndjson = try await HTTP.post(
            "\(base)/v1/predictions", events[100...].joined(separator: "\n") + "\n", contentType: "application/x-ndjson")
        #expect(ndjson.status == 200 && ndjson.body.contains(#""accepted":100"#), "\(ndjson)")
        let other = #"{"id": "o1", "model": "other", "prediction": "a", "features": {"x": 10}, "metrics": {"latency_ms": 10}}"#
        #expect(try await HTTP.post("\(base)/v1/predictions", other).status == 200)
        #expect(try await HTTP.post("\(base)/v1/labels", #"{"id": "e0", "model": "m", "label": "a"}"#).status == 200)

        // Read straight from Vigil: every m prediction answered wrong, latency +500, x × 3.
        let direct = "http://127.0.0.1:\(vigil.port)"
        let models = try JSONParser.parse(try await HTTP.get("\(direct)/v1/models").body)["models"]?.array ?? []
        let m = models.first { $0["name"]?.stringValue == "m" }
        // Classes count predictions and labels: 50 wrong "a" answers and the one "a" label.
        #expect(m?["classes"]?["a"]?.numberValue == 51 && m?["classes"]?["b"]?.numberValue == 150, "\(String(describing: m?["classes"]))")
        #expect(m?["counts"]?["labeled"]?.numberValue == 1, "labels pass through")
        let untouched = models.first { $0["name"]?.stringValue == "other" }
        #expect(untouched?["classes"]?["a"]?.numberValue == 1)
        let document = try JSONParser.parse(try await HTTP.get("\(direct)/v1/models/m/metrics?window=1h").body)
        #expect(document["metrics"]?["latency_ms"]?["mean"]?.numberValue == 510)
        let otherDocument = try JSONParser.parse(try await HTTP.get("\(direct)/v1/models/other/metrics?window=1h").body)
        #expect(otherDocument["metrics"]?["latency_ms"]?["mean"]?.numberValue == 10)
        // Reads pass through too, with Vigil's answer.
        let viaProxy = try await HTTP.get("\(base)/v1/models")
        #expect(viaProxy.status == 200 && viaProxy.body.contains(#""name":"other""#))
        #expect(try await HTTP.get("\(base)/v1/models/nobody/metrics").status == 404)
        #expect(await proxy.terminate() == 0)
        #expect(await vigil.terminate() == 0)
    }

    @Test func chaosNeedsAnUpstreamAModelAndFaults() async throws {
        for (arguments, message) in [
            (["--chaos", "--model", "m", "--fault", "quality-drop=1"], "--upstream"),
            (["--chaos", "--upstream", "http://127.0.0.1:9", "--fault", "quality-drop=1"], "--model"),
            (["--chaos", "--upstream", "http://127.0.0.1:9", "--model", "m"], "--fault"),
            (["--chaos", "--upstream", "http://127.0.0.1:9", "--model", "m", "--fault", "quality-drop=2"], "[0, 1]"),
        ] {
            let (status, output) = try await runVigilAsync(["demo"] + arguments)
            #expect(status != 0 && output.contains(message), "\(arguments): \(output)")
        }
    }
}
