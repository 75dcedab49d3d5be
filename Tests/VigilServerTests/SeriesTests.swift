import HTTPTypes
import HummingbirdTesting
import Testing
import VigilCore
import VigilEngine

@testable import VigilServer

/// `GET /v1/models/{m}/series` (DESIGN §11): every point equals the document `?to=` gives at
/// its instant, across minute buckets in memory, rolled-up hours and buckets only in storage.
@Suite struct SeriesTests {
    /// 2026-11-20T10:00:00Z.
    static let t0: Int64 = 1_795_600_800_000
    static let hour: Int64 = 3_600_000

    static var config: VigilConfig {
        var config = VigilConfig()
        var model = ModelConfig()
        model.positiveClass = "fraud"
        model.segments = [["region"]]
        config.models["m"] = model
        return config
    }

    /// Predictions every 5 minutes for 60 hours before `end`, the region and the share of wrong
    /// labels changing with the hour, so that every window has its own values.
    static func traffic(until end: Int64) -> (predictions: [JSONValue], labels: [JSONValue]) {
        var predictions: [JSONValue] = []
        var labels: [JSONValue] = []
        for i in 0..<(60 * 12) {
            let at = end - 60 * hour + Int64(i) * 300_000
            let hourIndex = i / 12
            let output = i % 3 == 0 ? "fraud" : "ok"
            let region = (i + hourIndex) % 4 == 0 ? "eu" : "us"
            predictions.append(
                .object([
                    ("id", .string("p\(i)")), ("model", .string("m")), ("timestamp", .number(Double(at) / 1000)),
                    ("prediction", .string(output)), ("confidence", .number(0.5 + Double(i % 5) / 10)),
                    (
                        "features",
                        .object(
                            [("x", .number(Double(i % 17)))]
                                + (i % 6 == 0 ? [] : [("y", JSONValue.string(["a", "b", "c"][(i + hourIndex) % 3]))]))
                    ),
                    ("segments", .object([("region", .string(region))])),
                    ("metrics", .object([("latency_ms", .number(Double(10 + (i * 7) % 50)))])),
                ]))
            // Wrong more often as the hours go by; every fourth prediction unlabelled.
            guard i % 4 != 3 else { continue }
            let wrong = (i * 31) % 60 < hourIndex
            let truth = wrong ? (output == "fraud" ? "ok" : "fraud") : output
            labels.append(.object([("id", .string("p\(i)")), ("model", .string("m")), ("label", .string(truth))]))
        }
        return (predictions, labels)
    }

    static func feed(_ client: some TestClientProtocol, until end: Int64) async throws {
        let (predictions, labels) = traffic(until: end)
        for chunk in stride(from: 0, to: predictions.count, by: 200) {
            let (status, _, text) = try await client.send(
                .post, "/v1/predictions",
                JSONWriter.string(.array(Array(predictions[chunk..<min(chunk + 200, predictions.count)]))))
            #expect(status == .ok, "\(text)")
        }
        let (status, _, text) = try await client.send(.post, "/v1/labels", JSONWriter.string(.array(labels)))
        #expect(status == .ok, "\(text)")
    }

    static func seconds(_ ms: Int64) -> String { String(ms / 1000) }

    /// The points of `selection` (a query such as `metric=quality_precision`) against the
    /// document of each point's instant, read with `?to=`, through `read`.
    static func expectPointsMatchDocuments(
        _ client: some TestClientProtocol, _ selection: String, window: String, step: String, from: Int64, to: Int64,
        read: (JSONValue) -> Double?
    ) async throws {
        let (status, series, text) = try await client.send(
            .get, "/v1/models/m/series?\(selection)&window=\(window)&step=\(step)&from=\(seconds(from))&to=\(seconds(to))")
        #expect(status == .ok, "\(text)")
        let points = try #require(series?["points"]).array
        #expect(!points.isEmpty)
        #expect(Timestamp.parseRFC3339(points.last?["t"]?.stringValue ?? "") == to)
        var withValue = 0
        for point in points {
            let t = try #require(point["t"]?.stringValue.flatMap(Timestamp.parseRFC3339))
            #expect(t >= from && t <= to)
            let (docStatus, document, _) = try await client.send(
                .get, "/v1/models/m/metrics?window=\(window)&to=\(seconds(t))")
            #expect(docStatus == .ok)
            let document_ = try #require(document)
            let expected = read(document_)
            let value = point["value"]
            if let expected {
                withValue += 1
                #expect(value?.numberValue == expected, "\(selection) at \(Timestamp.format(t))")
            } else {
                #expect(value == .null, "\(selection) at \(Timestamp.format(t)): \(String(describing: value))")
            }
            #expect(point["n"]?.int == document_["counts"]?["predictions"]?.int)
            #expect(point["labeled"]?.int == document_["counts"]?["labeled"]?.int)
        }
        #expect(withValue > points.count / 2, "\(selection): most points have a value: \(text.prefix(600))")
    }

    @Test func everyPointEqualsTheDocumentOfItsInstant() async throws {
        let clock = ManualClock(Self.t0)
        try await withEngineApp(Self.config, clock: clock) { client, engine in
            let reference: [JSONValue] = (0..<300).map {
                .object([
                    ("id", .string("r\($0)")), ("prediction", .string($0 % 3 == 0 ? "fraud" : "ok")),
                    ("confidence", .number(0.6)),
                    ("features", .object([("x", .number(Double($0 % 11))), ("y", .string(["a", "b", "c"][$0 % 3]))])),
                ])
            }
            let (put, _, putText) = try await client.send(
                .put, "/v1/models/m/reference", JSONWriter.string(.array(reference)))
            #expect(put == .ok, "\(putText)")
            try await Self.feed(client, until: Self.t0)
            await engine.evaluate(at: Self.t0)
            // A drift gauge merges the feature distributions; the others only the outcomes.
            try await Self.expectPointsMatchDocuments(
                client, "metric=feature_drift_psi&feature=x", window: "1h", step: "2h", from: Self.t0 - 30 * Self.hour,
                to: Self.t0 - 60_000
            ) { $0["drift"]?["features"]?["x"]?["psi"]?.numberValue }
            // One feature's own statistics merge only its distribution (the other feature left
            // out); its adjusted p-value is across both, so that one merges all of them.
            try await Self.expectPointsMatchDocuments(
                client, "metric=feature_drift_ks_statistic&feature=x", window: "1h", step: "3h",
                from: Self.t0 - 30 * Self.hour, to: Self.t0 - 60_000
            ) { $0["drift"]?["features"]?["x"]?["ks"]?["statistic"]?.numberValue }
            try await Self.expectPointsMatchDocuments(
                client, "metric=feature_missing_ratio&feature=y", window: "1h", step: "3h",
                from: Self.t0 - 30 * Self.hour, to: Self.t0 - 60_000
            ) { $0["data_quality"]?["missing_ratio"]?["y"]?.numberValue }
            try await Self.expectPointsMatchDocuments(
                client, "metric=feature_drift_pvalue&feature=y", window: "1h", step: "3h",
                from: Self.t0 - 30 * Self.hour, to: Self.t0 - 60_000
            ) { $0["drift"]?["features"]?["y"]?["chi2"]?["p_value_adjusted"]?.numberValue }
            // Minute buckets in memory.
            try await Self.expectPointsMatchDocuments(
                client, "metric=quality_recall", window: "1h", step: "20m", from: Self.t0 - 10 * Self.hour,
                to: Self.t0 - 3 * 60_000
            ) { $0["quality"]?["recall"]?.numberValue }
            // Two days on: the first day's minute buckets are rolled into hours and past the
            // memory floor, read back from storage.
            clock.set(Self.t0 + 50 * Self.hour)
            await engine.evaluate(at: Self.t0 + 50 * Self.hour)
            await engine.evaluate(at: Self.t0 + 50 * Self.hour + 60_000)
            let to = Self.t0 - 7 * 60_000
            try await Self.expectPointsMatchDocuments(
                client, "metric=quality_accuracy", window: "1h", step: "2h", from: to - 58 * Self.hour, to: to
            ) { $0["quality"]?["accuracy"]?.numberValue }
            try await Self.expectPointsMatchDocuments(
                client, "metric=segment_precision&segment=region&group=eu", window: "6h", step: "3h",
                from: to - 50 * Self.hour, to: to
            ) { $0["fairness"]?["region"]?["groups"]?["eu"]?["precision"]?.numberValue }
            try await Self.expectPointsMatchDocuments(
                client, "metric=metric_value&metric_name=latency_ms&stat=p95&source=prediction", window: "2h",
                step: "1h", from: to - 20 * Self.hour, to: to
            ) { $0["metrics"]?["latency_ms"]?["p95"]?.numberValue }
            // Windows with no traffic: null values, zero counts.
            let (_, empty, _) = try await client.send(
                .get,
                "/v1/models/m/series?metric=quality_accuracy&window=1h&step=1h&from=\(Self.seconds(Self.t0 - 80 * Self.hour))&to=\(Self.seconds(Self.t0 - 70 * Self.hour))"
            )
            for point in empty?["points"]?.array ?? [] {
                #expect(point["value"] == .null && point["n"]?.int == 0)
            }
            #expect(empty?["points"]?.array.count == 11)
        }
    }

    @Test func theResponseNamesWhatItSelected() async throws {
        let clock = ManualClock(Self.t0)
        try await withEngineApp(Self.config, clock: clock) { client, engine in
            try await Self.feed(client, until: Self.t0)
            await engine.evaluate(at: Self.t0)
            // Defaults: step 5m, from 24 h before now (fewer points when 300 steps are shorter).
            let (status, body, text) = try await client.send(
                .get, "/v1/models/m/series?metric=segment_selection_rate&segment=region&group=us")
            #expect(status == .ok, "\(text)")
            #expect(body?["metric"]?.stringValue == "segment_selection_rate")
            #expect(body?["labels"]?["segment"]?.stringValue == "region")
            #expect(body?["labels"]?["group"]?.stringValue == "us")
            #expect(body?["window"]?.stringValue == "1h" && body?["step"]?.stringValue == "5m")
            #expect(body?["points"]?.array.count == 289)
            #expect(Timestamp.parseRFC3339(body?["points"]?[288]?["t"]?.stringValue ?? "") == Self.t0)
            // The newest point is the window the document of now shows.
            let (_, now, _) = try await client.send(.get, "/v1/models/m/metrics?window=1h")
            #expect(
                body?["points"]?[288]?["value"]?.numberValue
                    == now?["fairness"]?["region"]?["groups"]?["us"]?["selection_rate"]?.numberValue)
        }
    }

    @Test(arguments: [
        ("", "'metric' is required"),
        ("metric=nope", "not a window metric"),
        ("metric=vigil_quality_precision", "not a window metric"),
        ("metric=feature_drift_psi", "missing: feature"),
        ("metric=segment_metric_value&segment=region", "missing: group, metric_name, stat, source"),
        ("metric=quality_precision&step=30s", "step must be"),
        ("metric=quality_precision&to=nan", "'to' must be"),
        ("metric=quality_precision&window=0m", "window must be"),
        ("metric=quality_mae&source=nope", "takes no selector; not source"),
        ("metric=feature_drift_psi&feature=x&segment=region", "takes feature; not segment"),
        ("metric=metric_value&metric_name=l&stat=p42&source=prediction", "'stat' of metric_value is one of mean"),
        ("metric=segment_metric_value&segment=s&group=g&metric_name=l&stat=p95&source=label", "is one of mean, sum"),
        ("metric=metric_value&metric_name=l&stat=mean&source=both", "'source' of metric_value is one of prediction, label"),
    ])
    func badQueriesAreNamed(_ query: String, _ reason: String) async throws {
        try await withApp(Self.config) { client in
            try await client.send(
                .post, "/v1/predictions", #"[{"id": "a", "model": "m", "prediction": "ok", "features": {"x": 1}}]"#)
            let (status, body, text) = try await client.send(.get, "/v1/models/m/series?\(query)")
            #expect(status == .badRequest, "\(text)")
            #expect(body?["error"]?.stringValue?.contains(reason) == true, "\(text)")
        }
    }

    /// Past 300 points the newest are kept and `truncated` says so; `from` after `to` holds no
    /// instant. Both answer 200: every request the OpenAPI document allows is served.
    @Test func aLongSpanKeepsTheNewestPoints() async throws {
        try await withApp(Self.config) { client in
            try await client.send(
                .post, "/v1/predictions", #"[{"id": "a", "model": "m", "prediction": "ok", "features": {"x": 1}}]"#)
            let (status, body, text) = try await client.send(
                .get, "/v1/models/m/series?metric=window_predictions&step=1m&from=0&to=86400")
            #expect(status == .ok, "\(text)")
            let points = body?["points"]?.array ?? []
            #expect(points.count == 300 && body?["truncated"] == .bool(true))
            #expect(points.last?["t"]?.stringValue == "1970-01-02T00:00:00Z")
            #expect(points.first?["t"]?.stringValue == "1970-01-01T19:01:00Z" && body?["from"] == points.first?["t"])
            let (_, exact, _) = try await client.send(
                .get, "/v1/models/m/series?metric=window_predictions&step=1m&from=0&to=17940")
            #expect(exact?["points"]?.array.count == 300 && exact?["truncated"] == .bool(false))
            let (reversed, none, _) = try await client.send(
                .get, "/v1/models/m/series?metric=window_predictions&from=2000&to=1000")
            #expect(reversed == .ok && none?["points"]?.array.isEmpty == true && none?["truncated"] == .bool(false))
        }
    }

    /// Past its merge budget a series keeps the newest points (at least one), in order, each
    /// still equal to its document; within it, every point.
    @Test func theMergeBudgetKeepsTheNewestPoints() async throws {
        let clock = ManualClock(Self.t0)
        try await withEngineApp(Self.config, clock: clock) { client, engine in
            try await Self.feed(client, until: Self.t0)
            await engine.evaluate(at: Self.t0)
            let window = TimeLength(millis: 24 * Self.hour, text: "24h")
            let ends = (0..<25).reversed().map { Self.t0 - Int64($0) * Self.hour }
            func series(_ budget: Int) async throws -> [SeriesPoint] {
                try await engine.reader.series(
                    model: "m", window: window, version: nil, variant: nil, endingAt: ends, scope: .all,
                    maxMerges: budget, values: { [Double($0.predictions)] })
            }
            let whole = try await series(1_000_000)
            #expect(whole.map(\.t) == ends)
            let cut = try await series(400)
            #expect(!cut.isEmpty && cut.count < ends.count, "\(cut.count) of \(ends.count) points")
            #expect(cut.map(\.t) == Array(ends.suffix(cut.count)), "the newest, in order")
            #expect(cut == Array(whole.suffix(cut.count)))
            let one = try await series(1)
            #expect(one.map(\.t) == [Self.t0], "the newest point is always computed")
            for point in cut {
                let (_, document, _) = try await client.send(.get, "/v1/models/m/metrics?window=24h&to=\(Self.seconds(point.t))")
                #expect(point.predictions == document?["counts"]?["predictions"]?.int)
            }
        }
    }

    @Test func anUnknownModelIsNotFound() async throws {
        try await withApp(Self.config) { client in
            let (status, _, _) = try await client.send(.get, "/v1/models/nobody/series?metric=quality_precision")
            #expect(status == .notFound)
        }
    }

    /// With tokens, a series reveals nothing about a model to a request without a read token.
    @Test func aSeriesNeedsAReadToken() async throws {
        var config = Self.config
        config.auth.tokens = [
            TokenConfig(name: "checkout", env: "T_INGEST", scopes: [.ingest]),
            TokenConfig(name: "grafana", env: "T_READ", scopes: [.read]),
        ]
        let environment = ["T_INGEST": "ingest-secret-1", "T_READ": "read-secret-2"]
        try await withApp(config, environment: environment) { client in
            try await client.send(
                .post, "/v1/predictions", #"[{"id": "a", "model": "m", "prediction": "ok", "features": {"x": 1}}]"#,
                headers: [.authorization: "Bearer ingest-secret-1"])
            for path in ["/v1/models/m/series?metric=window_predictions", "/v1/models/nobody/series?metric=x"] {
                let (none, noneBody, noneText) = try await client.send(.get, path)
                #expect(none == .unauthorized && noneBody?["points"] == nil && !noneText.contains("nobody"))
                let (ingest, _, ingestText) = try await client.send(
                    .get, path, headers: [.authorization: "Bearer ingest-secret-1"])
                #expect(ingest == .forbidden && !ingestText.contains("points"))
            }
            let (status, body, _) = try await client.send(
                .get, "/v1/models/m/series?metric=window_predictions", headers: [.authorization: "Bearer read-secret-2"])
            #expect(status == .ok && body?["points"]?.array.last?["value"]?.numberValue == 1)
        }
    }
}
