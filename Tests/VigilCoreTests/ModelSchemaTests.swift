import Testing

@testable import VigilCore

@Suite struct ModelSchemaTests {
    func p(
        _ id: String, _ output: OutputValue, features: [(name: String, value: FeatureValue)] = [],
        segments: [(name: String, value: String)] = [], version: String = "default", variant: String? = nil
    ) -> Prediction {
        Prediction(
            id: id, model: "m", version: version, variant: variant, timestamp: 1000, features: features,
            output: output, segments: segments)
    }

    @Test func infersFeatureTypesAndReportsConflicts() {
        var schema = ModelSchema(name: "m", config: ModelConfig())
        schema.observe(
            p("1", .text("a"), features: [("age", .missing), ("amount", .number(3)), ("country", .category("DE"))]))
        schema.observe(p("2", .text("b"), features: [("age", .number(30)), ("amount", .category("oops"))]))
        #expect(schema.featureOrder == ["age", "amount", "country"])
        #expect(schema.features["age"]?.type == .numeric && schema.features["age"]?.missing == 1)
        #expect(schema.features["amount"]?.type == .numeric && schema.features["amount"]?.typeConflicts == 1)
        #expect(schema.features["country"]?.type == .categorical)
    }

    @Test func infersTheTask() {
        var binary = ModelSchema(name: "m", config: ModelConfig())
        for (i, c) in ["0", "1", "1"].enumerated() { binary.observe(p("\(i)", .number(Double(c)!))) }
        #expect(binary.task(declared: nil) == .binary && binary.positiveClass(declared: nil) == "1")
        var multi = ModelSchema(name: "m", config: ModelConfig())
        for (i, c) in ["a", "b", "c"].enumerated() { multi.observe(p("\(i)", .text(c))) }
        #expect(multi.task(declared: nil) == .multiclass && multi.positiveClass(declared: nil) == nil)
        var regression = ModelSchema(name: "m", config: ModelConfig())
        regression.observe(p("1", .number(3.25)))
        #expect(regression.task(declared: nil) == .regression)
        #expect(regression.task(declared: .generative) == .generative)
    }

    @Test func countsVersionsVariantsAndSegments() {
        var schema = ModelSchema(name: "m", config: ModelConfig())
        schema.observe(p("1", .text("a"), segments: [("region", "eu")], version: "v1", variant: "canary"))
        schema.observe(p("2", .text("a"), segments: [("region", "us")], version: "v2"))
        schema.observe(p("3", .text("a"), segments: [("region", "eu")], version: "v2"))
        #expect(schema.versions == ["v1": 1, "v2": 2] && schema.variants == ["canary": 1])
        #expect(schema.segments["region"] == ["eu": 2, "us": 1])
        #expect(schema.counts.predictions == 3)
    }

    @Test func capsSegmentValuesAndCountsTheOverflow() {
        var schema = ModelSchema(name: "m", config: ModelConfig())
        for i in 0..<(ModelSchema.Limits.segmentValues + 5) {
            schema.observe(p("\(i)", .text("a"), segments: [("user", "u\(i)")]))
        }
        #expect(schema.segments["user"]?.count == ModelSchema.Limits.segmentValues)
        #expect(schema.overflow["segment_values"] == 5)
    }

    @Test func declaredFeaturesSeedTheSchema() {
        var config = ModelConfig()
        config.features = ["amount": .numeric]
        let schema = ModelSchema(name: "m", config: config)
        #expect(schema.features["amount"]?.declared == true && schema.features["amount"]?.type == .numeric)
    }

    @Test func payloadRoundTrips() {
        let original = Prediction(
            id: "ü-1", model: "m", version: "v", variant: "shadow", timestamp: 42,
            features: [("a b", .number(-1.5)), ("c.d", .category("日本")), ("e", .missing)], output: .bool(true),
            confidence: 0.75, scores: [("true", 0.75), ("false", 0.25)], segments: [("r", "eu")],
            metrics: [("tokens", 512)])
        let decoded = Prediction.decode(
            id: original.id, model: "m", version: "v", variant: "shadow", timestamp: 42,
            outputText: original.outputText, payload: original.encodedPayload())
        #expect(decoded == original)
        #expect(
            Prediction.decode(
                id: "x", model: "m", version: "v", variant: nil, timestamp: 0, outputText: "a",
                payload: Array(original.encodedPayload().dropLast())) == nil)
    }

    /// A label's join decodes its stored prediction without features: everything else comes
    /// back the same, and a payload the full decoder refuses is refused too (at every cut).
    @Test func payloadDecodesWithoutItsFeatures() {
        let original = Prediction(
            id: "p-7", model: "m", version: "v2", variant: nil, timestamp: 9,
            features: [("amount", .number(12.5)), ("country", .category("DE")), ("age", .missing)],
            output: .text("fraud"), confidence: 0.9, scores: [("fraud", 0.9), ("ok", 0.1)],
            segments: [("region", "eu"), ("tier", "a")], metrics: [("latency_ms", 41)])
        let payload = original.encodedPayload()
        func decode(_ bytes: [UInt8], features: Bool) -> Prediction? {
            Prediction.decode(
                id: "p-7", model: "m", version: "v2", variant: nil, timestamp: 9, outputText: "fraud", payload: bytes,
                features: features)
        }
        var expected = original
        expected.features = []
        #expect(decode(payload, features: false) == expected)
        #expect(decode(payload, features: true) == original)
        for cut in 0..<payload.count {
            let truncated = Array(payload[..<cut])
            #expect(decode(truncated, features: false) == nil, "cut at \(cut)")
        }
        // An unknown feature tag is corrupt either way.
        var badTag = payload
        let tagOffset = 2 + 1 + 1 + "amount".utf8.count  // format, output kind, feature count, name length, name
        badTag[tagOffset] = 9
        #expect(decode(badTag, features: true) == nil)
        #expect(decode(badTag, features: false) == nil)
        // Invalid UTF-8 in a feature's name or category value is corrupt either way.
        let nameOffset = 2 + 1 + 1  // format, output kind, feature count, name length
        let categoryOffset = nameOffset + "amount".utf8.count + 1 + 8 + 1 + "country".utf8.count + 1 + 1
        for offset in [nameOffset, categoryOffset] {
            var badText = payload
            badText[offset] = 0xFF
            #expect(decode(badText, features: true) == nil, "byte \(offset)")
            #expect(decode(badText, features: false) == nil, "byte \(offset)")
        }
    }
}
