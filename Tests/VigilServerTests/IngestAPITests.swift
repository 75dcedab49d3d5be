import HTTPTypes
import HummingbirdTesting
import Testing
import VigilCore

@testable import VigilServer

@Suite struct IngestAPITests {
    static let item =
        #"{"id": "%@", "model": "fraud", "prediction": "fraud", "confidence": 0.9, "features": {"amount": 12.5}}"#
    static func item(_ id: String) -> String { item.replacingOccurrences(of: "%@", with: id) }

    @Test func acceptsTheThreeBodyShapes() async throws {
        try await withApp { client in
            var (status, body, _) = try await client.send(
                .post, "/v1/predictions", "[\(Self.item("a")), \(Self.item("b"))]")
            #expect(status == .ok && body?["accepted"]?.int == 2)
            (status, body, _) = try await client.send(
                .post, "/v1/predictions", #"{"predictions": [\#(Self.item("c"))]}"#)
            #expect(status == .ok && body?["accepted"]?.int == 1)
            (status, body, _) = try await client.send(
                .post, "/v1/predictions", "\(Self.item("d"))\n\(Self.item("e"))\n",
                headers: [.contentType: "application/x-ndjson"])
            #expect(status == .ok && body?["accepted"]?.int == 2)
            (_, body, _) = try await client.send(.get, "/v1/models")
            #expect(body?["models"]?[0]?["counts"]?["predictions"]?.int == 5)
        }
    }

    @Test func rejectsInvalidItemsOneByOneAndStoresTheRest() async throws {
        try await withApp { client in
            let body =
                "[\(Self.item("ok-1")), {\"id\": \"bad\", \"model\": \"fraud\", \"prediction\": 1, \"confidence\": 3}, 17, \(Self.item("ok-2"))]"
            let (status, response, _) = try await client.send(.post, "/v1/predictions", body)
            #expect(status == .ok)
            #expect(response?["accepted"]?.int == 2 && response?["rejected"]?.int == 2)
            let errors = response?["errors"]?.array ?? []
            #expect(errors.map { $0["index"]?.int } == [1, 2])
            #expect(errors.first?["id"] == .string("bad") && errors.first?["reason"] == .string("invalid_confidence"))
            #expect(errors.last?["reason"] == .string("not_an_object"))
            #expect(errors.allSatisfy { !($0["error"]?.stringValue ?? "").isEmpty })
        }
    }

    @Test func ndjsonLineThatDoesNotParseIsRejectedByIndex() async throws {
        try await withApp { client in
            let (status, body, _) = try await client.send(
                .post, "/v1/predictions", "\(Self.item("a"))\n{oops\n\(Self.item("b"))",
                headers: [.contentType: "application/x-ndjson"])
            #expect(status == .ok && body?["accepted"]?.int == 2)
            #expect(
                body?["errors"]?[0]?["index"]?.int == 1 && body?["errors"]?[0]?["reason"] == .string("malformed_json"))
        }
    }

    @Test(arguments: ["{not json", "[\(IngestAPITests.item("a")), ", "42", ""])
    func unparseableBodyIs400AndStoresNothing(_ body: String) async throws {
        try await withApp { client in
            let (status, response, _) = try await client.send(.post, "/v1/predictions", body)
            #expect(status == .badRequest)
            #expect(response?["error"]?.stringValue?.isEmpty == false)
            let (_, models, _) = try await client.send(.get, "/v1/models")
            #expect(models?["models"]?.array.isEmpty == true)
        }
    }

    @Test func bodyOverTheLimitIs413() async throws {
        var config = VigilConfig()
        config.server.maxBodyBytes = 4096
        try await withApp(config) { client in
            let items = (0..<60).map { Self.item("id-\($0)") }.joined(separator: ",")
            let (status, body, _) = try await client.send(.post, "/v1/predictions", "[\(items)]")
            #expect(status == .contentTooLarge)
            #expect(body?["error"]?.stringValue?.contains("max_body_bytes") == true)
            let (ok, _, _) = try await client.send(.post, "/v1/predictions", "[\(Self.item("small"))]")
            #expect(ok == .ok)
        }
    }

    @Test func duplicatesAreIdempotentAndCounted() async throws {
        try await withApp { client in
            _ = try await client.send(.post, "/v1/predictions", "[\(Self.item("a")), \(Self.item("b"))]")
            let (_, body, _) = try await client.send(
                .post, "/v1/predictions", "[\(Self.item("a")), \(Self.item("b")), \(Self.item("c"))]")
            #expect(body?["accepted"]?.int == 1 && body?["duplicates"]?.int == 2)
            let (_, models, _) = try await client.send(.get, "/v1/models")
            #expect(models?["models"]?[0]?["counts"]?["predictions"]?.int == 3)
            #expect(models?["models"]?[0]?["counts"]?["duplicate_predictions"]?.int == 2)
        }
    }

    @Test func labelsJoinBeforeAndAfterTheirPrediction() async throws {
        try await withApp { client in
            _ = try await client.send(.post, "/v1/predictions", "[\(Self.item("first"))]")
            var (_, body, _) = try await client.send(
                .post, "/v1/labels",
                #"[{"id": "first", "model": "fraud", "label": "ok"}, {"id": "early", "model": "fraud", "label": "fraud"}]"#
            )
            #expect(body?["accepted"]?.int == 2)
            (_, body, _) = try await client.send(.get, "/v1/models")
            var counts = body?["models"]?[0]?["counts"]
            #expect(counts?["labeled"]?.int == 1 && counts?["pending_labels"]?.int == 1)
            _ = try await client.send(.post, "/v1/predictions", "[\(Self.item("early"))]")
            (_, body, _) = try await client.send(.get, "/v1/models")
            counts = body?["models"]?[0]?["counts"]
            #expect(counts?["labeled"]?.int == 2 && counts?["pending_labels"]?.int == 0)
            #expect(body?["models"]?[0]?["label_coverage"]?.numberValue == 1.0)
            // A re-sent identical label is a duplicate; a different one replaces it.
            (_, body, _) = try await client.send(
                .post, "/v1/labels",
                #"{"labels": [{"id": "first", "model": "fraud", "label": "ok"}, {"id": "early", "model": "fraud", "label": "ok"}]}"#
            )
            #expect(body?["duplicates"]?.int == 1 && body?["accepted"]?.int == 1)
        }
    }

    @Test func heldLabelExpiresAfterLabelTTL() async throws {
        var config = VigilConfig()
        var model = ModelConfig()
        model.labelTTL = TimeLength(millis: 86_400_000, text: "1d")
        config.models["fraud"] = model
        let clock = ManualClock(1_795_514_400_000)
        try await withApp(config, clock: clock) { client in
            _ = try await client.send(
                .post, "/v1/labels",
                #"[{"id": "late", "model": "fraud", "label": "ok"}, {"id": "ontime", "model": "fraud", "label": "ok"}]"#
            )
            clock.advance(byMillis: 3_600_000)
            _ = try await client.send(.post, "/v1/predictions", "[\(Self.item("ontime"))]")
            clock.advance(byMillis: 86_400_000)
            _ = try await client.send(.post, "/v1/predictions", "[\(Self.item("late"))]")
            let (_, body, _) = try await client.send(.get, "/v1/models")
            let counts = body?["models"]?[0]?["counts"]
            #expect(counts?["labeled"]?.int == 1)
            #expect(counts?["expired_labels"]?.int == 1)
            #expect(counts?["pending_labels"]?.int == 0)
        }
    }

    @Test func namesComeBackExactlyAsSent() async throws {
        let names = ["ä b.c", "with space", "dotted.name", "日本語", "🚀 rocket"]
        let features = names.enumerated().map { "\"\($1)\": \($0)" }.joined(separator: ", ")
        let segments = names.map { "\"\($0)\": \"\($0)\"" }.joined(separator: ", ")
        try await withApp { client in
            let item =
                #"{"id": "u", "model": "m", "prediction": "clâss x.y", "features": {\#(features)}, "segments": {\#(segments)}}"#
            _ = try await client.send(.post, "/v1/predictions", "[\(item)]")
            _ = try await client.send(.post, "/v1/labels", #"[{"id": "u", "model": "m", "label": "lâbel 2"}]"#)
            let (_, body, _) = try await client.send(.get, "/v1/models")
            let model = try #require(body?["models"]?[0])
            #expect(model["features"]?.array.compactMap { $0["name"]?.stringValue } == names)
            let classes = model["classes"]?.objectValue?.members.map(\.key) ?? []
            #expect(Set(classes) == ["clâss x.y", "lâbel 2"])
            let attributes = model["segments"]?.objectValue?.members.map(\.key) ?? []
            #expect(Set(attributes) == Set(names))
            for name in names { #expect(model["segments"]?[name]?[name]?.int == 1) }
        }
    }

    @Test func unknownRouteIsAJSONError() async throws {
        try await withApp { client in
            let (status, body, _) = try await client.send(.get, "/v2/nothing")
            #expect(status == .notFound && body?["error"]?.stringValue?.contains("/v2/nothing") == true)
        }
    }

    @Test func healthAndReadiness() async throws {
        try await withApp { client in
            do {
                let status = try await client.send(.get, "/healthz").0
                #expect(status == .ok)
            }
            let (status, body, _) = try await client.send(.get, "/readyz")
            #expect(status == .ok && body?["status"] == .string("ready"))
        }
    }
}
