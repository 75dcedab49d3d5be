import Foundation
import GRDB
import Testing
import VigilCore

/// Issue 10, defects 3, 4, 7 and 8 on the real binary: a label correction across a change of
/// positive class, schema caps reaching the aggregates, bounded models, versions and variants,
/// and far-future event times.
@Suite(.serialized) struct HardeningDataTests {
    struct Vigil {
        let process: VigilProcess
        let directory: TemporaryDirectory
        var base: String { "http://127.0.0.1:\(process.port)" }

        func post(_ path: String, _ body: String) async throws -> (status: Int, json: JSONValue?) {
            let answer = try await HTTP.post(base + path, body)
            return (answer.status, try? JSONParser.parse(answer.body))
        }

        func get(_ path: String) async throws -> (status: Int, json: JSONValue?, body: String) {
            let answer = try await HTTP.get(base + path)
            return (answer.status, try? JSONParser.parse(answer.body), answer.body)
        }

        var log: String { (try? String(contentsOfFile: process.logPath, encoding: .utf8)) ?? "" }

        /// Waits for an evaluation whose 1 h window of model `m` holds `predictions` predictions
        /// and `labeled` labels (the snapshot a document request reads), however loaded the machine.
        func evaluated(predictions: Int, labeled: Int) async throws {
            try await HTTP.eventually(.seconds(60), "an evaluation with \(predictions) predictions, \(labeled) labels") {
                let document = try await get("/v1/models/m/metrics?window=1h").json
                return document?["counts"]?["predictions"]?.int == predictions
                    && document?["counts"]?["labeled"]?.int == labeled
            }
        }
    }

    static func start(_ config: String, in directory: TemporaryDirectory = try! TemporaryDirectory()) async throws
        -> Vigil
    {
        let configPath = directory.path("vigil.yaml")
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let process = try await VigilProcess.serve(
            db: directory.path("vigil.db"), logPath: directory.path("vigil.log"), extra: ["--config", configPath])
        return Vigil(process: process, directory: directory)
    }

    static func predictions(_ items: [(id: String, output: Int, p: Double, region: String)], model: String = "m")
        -> String
    {
        "["
            + items.map {
                #"{"id": "\#($0.id)", "model": "\#(model)", "prediction": \#($0.output), "confidence": \#($0.p), "features": {"x": \#($0.p)}, "segments": {"region": "\#($0.region)"}}"#
            }.joined(separator: ",") + "]"
    }

    // MARK: - Defect 3

    /// Fails on de6ce92 (the process traps at the flush after the correction, and again at every
    /// start): a label folded before the positive class was known, corrected after it was
    /// inferred, drove calibration and group counters below zero.
    @Test func aCorrectionAfterThePositiveClassIsInferredTakesBackExactlyWhatWasApplied() async throws {
        let config = "evaluation_interval: 1s\nmodels: {m: {reference: {first: 100000}}}\n"
        func item(_ prefix: String, _ i: Int, output: Int, base: Double) -> (
            id: String, output: Int, p: Double, region: String
        ) {
            let region = i % 2 == 0 ? "eu" : "us"
            return (id: prefix + String(i), output: output, p: base + Double(i) / 100, region: region)
        }
        let first = (0..<6).map { item("a", $0, output: 0, base: 0.6) }
        let second = (0..<6).map { item("b", $0, output: 1, base: 0.7) }
        let corrected = try await Self.start(config)
        #expect(try await corrected.post("/v1/predictions", Self.predictions(first)).status == 200)
        // Only class 0 seen: the positive class cannot be told, the label folds without it.
        #expect(try await corrected.post("/v1/labels", #"[{"id": "a0", "model": "m", "label": 0}]"#).status == 200)
        try await corrected.evaluated(predictions: 6, labeled: 1)
        #expect(try await corrected.post("/v1/predictions", Self.predictions(second)).status == 200)
        try await corrected.evaluated(predictions: 12, labeled: 1)  // an evaluation infers positive class 1
        #expect(try await corrected.post("/v1/labels", #"[{"id": "a0", "model": "m", "label": 1}]"#).status == 200)
        #expect(
            try await corrected.post("/v1/labels", #"[{"id": "b1", "model": "m", "label": 1}, {"id": "a1", "model": "m", "label": 0}]"#)
                .status == 200)
        try await corrected.evaluated(predictions: 12, labeled: 3)
        try await Task.sleep(for: .milliseconds(1500))  // and a flush after it
        #expect(corrected.process.process.isRunning, "vigil died after the correction:\n\(corrected.log)")
        let document = try #require(try await corrected.get("/v1/models/m/metrics?window=1h").json)

        // The same traffic where a0 only ever had its final label: the same document.
        let direct = try await Self.start(config)
        #expect(try await direct.post("/v1/predictions", Self.predictions(first)).status == 200)
        #expect(try await direct.post("/v1/predictions", Self.predictions(second)).status == 200)
        try await direct.evaluated(predictions: 12, labeled: 0)
        #expect(
            try await direct.post("/v1/labels", #"[{"id": "a0", "model": "m", "label": 1}, {"id": "b1", "model": "m", "label": 1}, {"id": "a1", "model": "m", "label": 0}]"#)
                .status == 200)
        try await direct.evaluated(predictions: 12, labeled: 3)
        let expected = try #require(try await direct.get("/v1/models/m/metrics?window=1h").json)
        for section in ["quality", "calibration", "fairness", "labeled"] {
            #expect(document[section] == expected[section], "\(section) differs")
        }
        #expect(document["fairness"]?["region"]?["groups"]?["eu"]?["labeled"]?.int == 1)

        // And it survives a restart with the same document (no crash loop from the journal).
        #expect(await corrected.process.terminate() == 0)
        let restarted = try await VigilProcess.serve(
            db: corrected.directory.path("vigil.db"), logPath: corrected.directory.path("vigil2.log"),
            extra: ["--config", corrected.directory.path("vigil.yaml")])
        let again = try await HTTP.get("http://127.0.0.1:\(restarted.port)/v1/models/m/metrics?window=1h")
        let reloaded = try JSONParser.parse(again.body)
        #expect(reloaded["calibration"] == expected["calibration"] && reloaded["fairness"] == expected["fairness"])
        #expect(await restarted.terminate() == 0)
        #expect(await direct.process.terminate() == 0)
    }

    // MARK: - Defect 4

    /// Fails on de6ce92: fresh feature and metric names per prediction grew every bucket past the
    /// schema's caps, and many label values grew the confusion matrix without bound.
    @Test func bucketsHoldOnlyWhatTheSchemaAdmitted() async throws {
        let vigil = try await Self.start("evaluation_interval: 1s\nmodels: {m: {reference: {first: 100000}}}\n")
        for batch in 0..<12 {
            let items = (0..<10).map { i -> String in
                let n = batch * 10 + i
                let features = (0..<100).map { #""f\#(n)_\#($0)": \#($0)"# }.joined(separator: ",")
                let metrics = (0..<30).map { #""k\#(n)_\#($0)": 1"# }.joined(separator: ",")
                return #"{"id": "p\#(n)", "model": "m", "prediction": "c\#(n)", "features": {\#(features)}, "metrics": {\#(metrics)}}"#
            }
            #expect(try await vigil.post("/v1/predictions", "[" + items.joined(separator: ",") + "]").status == 200)
        }
        // 120 distinct label classes against 120 distinct predicted ones.
        let labels = (0..<120).map { #"{"id": "p\#($0)", "model": "m", "label": "t\#($0)"}"# }
        #expect(try await vigil.post("/v1/labels", "[" + labels.joined(separator: ",") + "]").status == 200)
        try await Task.sleep(for: .milliseconds(2500))
        #expect(vigil.process.process.isRunning)
        let models = try #require(try await vigil.get("/v1/models").json)
        let schema = try #require(models["models"]?.array.first)
        #expect(schema["overflow"]?["features"]?.int == 12_000 - 1000)
        #expect(schema["overflow"]?["metrics"]?.int == 3600 - 256)

        let db = try DatabaseQueue(path: vigil.directory.path("vigil.db"))
        let blobs = try await db.read { try Data.fetchAll($0, sql: "SELECT data FROM buckets") }
        #expect(!blobs.isEmpty)
        for blob in blobs {
            let bucket = try #require(BucketAggregate.decode(Array(blob)))
            #expect(bucket.numeric.count <= ModelSchema.Limits.features)
            #expect(bucket.predictionMetrics.count <= ModelSchema.Limits.metricNames)
            #expect(bucket.confusion.classCount <= BucketAggregate.maxConfusionClasses)
        }
        let metrics = try await vigil.get("/metrics").body
        let metricSeries = metrics.split(separator: "\n").filter { $0.hasPrefix("vigil_metric_value{") }
        let names = Set(metricSeries.compactMap { line in line.range(of: "metric=\"").map { line[$0.upperBound...].prefix { $0 != "\"" } } })
        #expect(names.count <= ModelSchema.Limits.metricNames)
        #expect(await vigil.process.terminate() == 0)
    }

    // MARK: - Defects 7 and 8

    /// Fails on de6ce92: models, versions and variants were unbounded, and any future event time
    /// was accepted. The defaults: 100 models, 50 versions and 20 variants per model, 1 h skew.
    @Test func modelsVersionsVariantsAndFutureTimesAreBounded() async throws {
        let vigil = try await Self.start("models: {declared: {}}\n")
        func item(_ id: String, model: String = "a", version: String = "v1", variant: String? = nil, ts: Int? = nil)
            -> String
        {
            var fields = [#""id": "\#(id)""#, #""model": "\#(model)""#, #""prediction": 1"#, #""version": "\#(version)""#]
            if let variant { fields.append(#""variant": "\#(variant)""#) }
            if let ts { fields.append(#""timestamp": \#(ts)"#) }
            return "{" + fields.joined(separator: ", ") + "}"
        }
        let now = Int(Date().timeIntervalSince1970)
        var items = (0..<99).map { item("m\($0)", model: "model\($0)") }  // + "a" = 100 models
        items += (0..<49).map { item("v\($0)", version: "v\($0 + 2)") }  // + v1 = 50 versions
        items += (0..<20).map { item("w\($0)", variant: "arm\($0)") }  // 20 variants
        items += [
            item("1"), item("over-model", model: "one-too-many"), item("declared", model: "declared"),
            item("over-version", version: "v999"), item("over-variant", variant: "arm99"),
            item("soon", ts: now + 1800), item("later", ts: now + 7200), item("far", ts: 253_402_300_000),
        ]
        let answer = try await vigil.post("/v1/predictions", "[" + items.joined(separator: ",") + "]")
        #expect(answer.status == 200)
        let reasons = Dictionary(
            uniqueKeysWithValues: try #require(answer.json?["errors"]).array.map {
                ($0["id"]!.stringValue!, $0["reason"]!.stringValue!)
            })
        #expect(
            reasons == [
                "over-model": "model_limit", "over-version": "version_limit", "over-variant": "variant_limit",
                "later": "future_timestamp", "far": "future_timestamp",
            ])
        #expect(answer.json?["accepted"]?.int == items.count - 5)
        // A label cannot create a model past the cap either.
        let label = try await vigil.post("/v1/labels", #"[{"id": "x", "model": "zz", "label": 1}]"#)
        #expect(label.json?["errors"]?[0]?["reason"]?.stringValue == "model_limit")
        let metrics = try await vigil.get("/metrics").body
        #expect(metrics.contains(#"vigil_ingest_rejected_total{kind="prediction",reason="model_limit"} 1"#))
        #expect(await vigil.process.terminate() == 0)
    }

    /// The limits are configurable.
    @Test func limitsAreConfigurable() async throws {
        let vigil = try await Self.start("limits: {max_models: 1, max_versions: 1, max_variants: 1}\n")
        let answer = try await vigil.post(
            "/v1/predictions",
            #"[{"id": "1", "model": "a", "prediction": 1}, {"id": "2", "model": "b", "prediction": 1}, {"id": "3", "model": "a", "prediction": 1, "version": "v2"}]"#
        )
        #expect(answer.json?["errors"]?.array.compactMap { $0["reason"]?.stringValue } == ["model_limit", "version_limit"])
        // A reference upload cannot create a model past the cap either.
        let reference = try await HTTP.request(
            .PUT, vigil.base + "/v1/models/zz/reference", body: #"[{"id": "r", "prediction": 1, "features": {"x": 1}}]"#)
        #expect(reference.status == 409 && reference.body.contains("max_models"), "\(reference)")
        #expect(await vigil.process.terminate() == 0)
    }
}

/// Issue 10, defect 14: start-up survives rows that do not decode — a bucket, a reference
/// profile, a model schema and an unflushed prediction — by moving each aside into
/// `quarantine`, logging it and running `PRAGMA quick_check`. Fails on de6ce92, which refused
/// to start (`corrupt record`).
@Suite(.serialized) struct StartupQuarantineTests {
    @Test func startUpQuarantinesUnreadableRows() async throws {
        let directory = try TemporaryDirectory()
        let db = directory.path("vigil.db")
        let fast = directory.path("fast.yaml")
        try "evaluation_interval: 1s\nmodels: {m: {reference: {first: 10}}}\n".write(
            toFile: fast, atomically: true, encoding: .utf8)
        let slow = directory.path("slow.yaml")
        try "evaluation_interval: 1h\nmodels: {m: {reference: {first: 10}}}\n".write(
            toFile: slow, atomically: true, encoding: .utf8)
        func batch(_ prefix: String, model: String) -> String {
            "[" + (0..<20).map { #"{"id": "\#(prefix)\#($0)", "model": "\#(model)", "prediction": 1, "features": {"x": \#($0)}}"# }
                .joined(separator: ",") + "]"
        }
        let first = try await VigilProcess.serve(db: db, logPath: directory.path("1.log"), extra: ["--config", fast])
        for model in ["m", "n"] {
            #expect(try await HTTP.post("http://127.0.0.1:\(first.port)/v1/predictions", batch("a", model: model)).status == 200)
        }
        try await Task.sleep(for: .milliseconds(2500))  // the reference of m is built, buckets flushed
        #expect(await first.terminate() == 0)
        // An unflushed tail: the evaluation (and flush) is an hour away when vigil is killed.
        let second = try await VigilProcess.serve(db: db, logPath: directory.path("2.log"), extra: ["--config", slow])
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await HTTP.post("http://127.0.0.1:\(second.port)/v1/predictions", batch("b", model: "m")).status == 200)
        second.kill9()

        let queue = try DatabaseQueue(path: db)
        try await queue.write { db in
            try db.execute(
                sql: """
                    UPDATE buckets SET data = x'01ff' WHERE (model_id, version, variant, resolution, start) IN
                        (SELECT model_id, version, variant, resolution, start FROM buckets LIMIT 1);
                    UPDATE reference_profiles SET data = x'00';
                    UPDATE models SET schema = '{' WHERE name = 'n';
                    UPDATE predictions SET payload = x'ffff' WHERE ext_id = 'b3';
                    """)
        }
        let third = try await VigilProcess.serve(db: db, logPath: directory.path("3.log"), extra: ["--config", fast])
        let models = try JSONParser.parse(try await HTTP.get("http://127.0.0.1:\(third.port)/v1/models").body)
        #expect(Set(models["models"]?.array.compactMap { $0["name"]?.stringValue } ?? []) == ["m", "n"])
        let document = try await HTTP.get("http://127.0.0.1:\(third.port)/v1/models/m/metrics?window=1h")
        #expect(document.status == 200)
        #expect(await third.terminate() == 0)
        let quarantined = try await queue.read { db in
            try String.fetchAll(db, sql: "SELECT source FROM quarantine ORDER BY source")
        }
        #expect(quarantined == ["buckets", "models", "predictions", "reference_profiles"])
        let log = try String(contentsOfFile: directory.path("3.log"), encoding: .utf8)
        #expect(log.contains("unreadable row quarantined") && log.contains("PRAGMA quick_check: ok"))
    }
}
