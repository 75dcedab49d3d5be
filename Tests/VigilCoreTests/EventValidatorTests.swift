import Testing

@testable import VigilCore

@Suite struct EventValidatorTests {
    static let now: Int64 = 1_795_514_400_000
    let validator = EventValidator(
        config: {
            var config = VigilConfig()
            var fraud = ModelConfig()
            fraud.features = ["amount": .numeric, "country": .categorical]
            config.models["fraud"] = fraud
            return config
        }())

    func prediction(_ json: String) throws -> Result<Prediction, ItemError> {
        validator.prediction(try JSONParser.parse(json), index: 7, receivedAt: Self.now)
    }

    @Test func acceptsAFullPrediction() throws {
        let p = try prediction(
            """
            {"id": "req-81f2", "model": "fraud", "version": "v7", "timestamp": "2026-11-24T10:00:00Z",
             "features": {"amount": 129.5, "country": "DE", "is_new": true, "age": null},
             "prediction": "fraud", "confidence": 0.91, "scores": {"fraud": 0.91, "ok": 0.09},
             "segments": {"region": "eu", "gender": "f", "tier": 2}, "variant": "canary",
             "metrics": {"latency_ms": 41, "cost_usd": 0.0021}}
            """
        ).get()
        #expect(p.id == "req-81f2" && p.model == "fraud" && p.version == "v7" && p.variant == "canary")
        #expect(p.timestamp == Self.now)
        #expect(p.features.map(\.name) == ["amount", "country", "is_new", "age"])
        #expect(p.features.map(\.value) == [.number(129.5), .category("DE"), .category("true"), .missing])
        #expect(p.output == .text("fraud") && p.confidence == 0.91)
        #expect(p.scores.map(\.name) == ["fraud", "ok"])
        #expect(p.segments.map(\.value) == ["eu", "f", "2"])
        #expect(p.metrics.map(\.value) == [41, 0.0021])
    }

    @Test func defaultsVersionAndTimestamp() throws {
        let p = try prediction(#"{"id": "a", "model": "m", "prediction": 1}"#).get()
        #expect(p.version == "default" && p.variant == nil && p.timestamp == Self.now)
        #expect(p.output.classKey == "1")
    }

    @Test func namesComeBackExactly() throws {
        let names = ["ä b.c", "has space", "dots.in.name", "日本", "🚀"]
        let features = names.map { "\"\($0)\": 1" }.joined(separator: ",")
        let segments = names.map { "\"\($0)\": \"\($0)\"" }.joined(separator: ",")
        let p = try prediction(
            #"{"id": "a", "model": "m", "prediction": "ü x.y", "features": {\#(features)}, "segments": {\#(segments)}}"#
        ).get()
        #expect(p.features.map(\.name) == names)
        #expect(p.segments.map(\.name) == names && p.segments.map(\.value) == names)
        #expect(p.output.classKey == "ü x.y")
    }

    @Test(arguments: [
        (#"[1]"#, RejectReason.notAnObject),
        (#"{"model": "m", "prediction": 1}"#, .invalidID),
        (#"{"id": 5, "model": "m", "prediction": 1}"#, .invalidID),
        (#"{"id": "", "model": "m", "prediction": 1}"#, .invalidID),
        (#"{"id": "\#(String(repeating: "x", count: 257))", "model": "m", "prediction": 1}"#, .invalidID),
        (#"{"id": "a", "prediction": 1}"#, .invalidModel),
        (#"{"id": "a", "model": "bad name", "prediction": 1}"#, .invalidModel),
        (#"{"id": "a", "model": "\#(String(repeating: "m", count: 65))", "prediction": 1}"#, .invalidModel),
        (#"{"id": "a", "model": "m"}"#, .invalidPrediction),
        (#"{"id": "a", "model": "m", "prediction": null}"#, .invalidPrediction),
        (#"{"id": "a", "model": "m", "prediction": [1]}"#, .invalidPrediction),
        (#"{"id": "a", "model": "m", "prediction": 1, "version": 7}"#, .invalidVersion),
        (#"{"id": "a", "model": "m", "prediction": 1, "version": ""}"#, .invalidVersion),
        (#"{"id": "a", "model": "m", "prediction": 1, "variant": {"x": 1}}"#, .invalidVariant),
        (#"{"id": "a", "model": "m", "prediction": 1, "timestamp": "yesterday"}"#, .invalidTimestamp),
        (#"{"id": "a", "model": "m", "prediction": 1, "timestamp": -5}"#, .invalidTimestamp),
        (#"{"id": "a", "model": "m", "prediction": 1, "features": [1, 2]}"#, .invalidFeatures),
        (#"{"id": "a", "model": "m", "prediction": 1, "features": {"x": [1]}}"#, .invalidFeatures),
        (#"{"id": "a", "model": "m", "prediction": 1, "features": {"x": {"y": 1}}}"#, .invalidFeatures),
        (#"{"id": "a", "model": "m", "prediction": 1, "features": {"": 1}}"#, .invalidFeatures),
        (#"{"id": "a", "model": "fraud", "prediction": 1, "features": {"amount": "12"}}"#, .typeMismatch),
        (#"{"id": "a", "model": "fraud", "prediction": 1, "features": {"country": 49}}"#, .typeMismatch),
        (#"{"id": "a", "model": "m", "prediction": 1, "confidence": 1.5}"#, .invalidConfidence),
        (#"{"id": "a", "model": "m", "prediction": 1, "confidence": "high"}"#, .invalidConfidence),
        (#"{"id": "a", "model": "m", "prediction": 1, "scores": {"a": 2}}"#, .invalidScores),
        (#"{"id": "a", "model": "m", "prediction": 1, "scores": [0.5]}"#, .invalidScores),
        (#"{"id": "a", "model": "m", "prediction": 1, "segments": {"r": [1]}}"#, .invalidSegments),
        (#"{"id": "a", "model": "m", "prediction": 1, "segments": "eu"}"#, .invalidSegments),
        (#"{"id": "a", "model": "m", "prediction": 1, "metrics": {"latency_ms": "fast"}}"#, .invalidMetrics),
    ])
    func rejectsWithAPreciseReason(_ json: String, _ reason: RejectReason) throws {
        let result = try prediction(json)
        guard case .failure(let error) = result else {
            Issue.record("accepted \(json)")
            return
        }
        #expect(error.reason == reason)
        #expect(error.index == 7)
        #expect(!error.message.isEmpty)
    }

    @Test func rejectedItemsKeepTheirID() throws {
        guard
            case .failure(let error) = try prediction(#"{"id": "r-1", "model": "m", "prediction": 1, "confidence": 9}"#)
        else {
            Issue.record("accepted")
            return
        }
        #expect(error.id == "r-1")
    }

    @Test(arguments: [
        (#"{"model": "m", "label": 1}"#, RejectReason.invalidID),
        (#"{"id": "a", "label": 1}"#, .invalidModel),
        (#"{"id": "a", "model": "m"}"#, .invalidLabel),
        (#"{"id": "a", "model": "m", "label": [1]}"#, .invalidLabel),
        (#"{"id": "a", "model": "m", "label": 1, "timestamp": "x"}"#, .invalidTimestamp),
        (#"{"id": "a", "model": "m", "metrics": {"thumbs_up": "yes"}}"#, .invalidMetrics),
        (#""text""#, .notAnObject),
    ])
    func rejectsLabels(_ json: String, _ reason: RejectReason) throws {
        guard case .failure(let error) = validator.label(try JSONParser.parse(json), index: 0) else {
            Issue.record("accepted \(json)")
            return
        }
        #expect(error.reason == reason)
    }

    @Test func acceptsMetricOnlyLabels() throws {
        let label = try validator.label(
            try JSONParser.parse(#"{"id": "a", "model": "m", "metrics": {"thumbs_up": true}}"#), index: 0
        ).get()
        #expect(label.value == nil && label.metrics.first?.value == 1)
    }
}
