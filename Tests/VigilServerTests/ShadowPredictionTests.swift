import Foundation
import GRDB
import HummingbirdTesting
import Testing
import VigilCore
import VigilEngine

@testable import VigilServer

/// DESIGN §5: a shadow prediction (`variant: shadow`, the id of a live prediction) is stored
/// beside the live one, is not a duplicate, stays out of the live model's windows and totals,
/// and the label of that id joins both.
@Suite struct ShadowPredictionTests {
    static let t0 = WindowLifecycleTests.t0

    static func prediction(_ id: String, _ output: String, shadow: Bool = false) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("id", .string(id)), ("model", .string("m")), ("timestamp", .number(Double(t0 - 60_000) / 1000)),
            ("prediction", .string(output)), ("confidence", .number(0.8)), ("features", .object([("x", .number(1))])),
        ]
        if shadow { members.append(("variant", .string("shadow"))) }
        return .object(JSONObject(members.map { JSONMember(key: $0.0, value: $0.1) }))
    }

    static func counts(_ client: some TestClientProtocol, _ query: String = "") async throws -> (Int?, Int?, Double?) {
        let (status, doc, text) = try await client.send(.get, "/v1/models/m/metrics?window=1h\(query)")
        #expect(status == .ok, "\(text)")
        return (
            doc?["counts"]?["predictions"]?.int, doc?["counts"]?["labeled"]?.int,
            doc?["quality"]?["accuracy"]?.numberValue
        )
    }

    @Test func aShadowIsStoredBesideItsLivePredictionAndJoinsTheSameLabel() async throws {
        var config = VigilConfig()
        config.models["m"] = ModelConfig()
        config.models["m"]!.positiveClass = "fraud"
        let clock = ManualClock(Self.t0)
        let directory = try TemporaryDirectory()
        let path = directory.path("vigil.db")
        try await withEngineApp(config, clock: clock, path: path) { client, engine in
            let live = try await client.send(
                .post, "/v1/predictions", JSONWriter.string(.array([Self.prediction("a", "fraud")])))
            #expect(live.1?["accepted"]?.int == 1)
            // The shadow of "a" (it disagrees) is stored, not taken for a retry of "a".
            let shadow = try await client.send(
                .post, "/v1/predictions", JSONWriter.string(.array([Self.prediction("a", "ok", shadow: true)])))
            #expect(shadow.1?["accepted"]?.int == 1)
            #expect(shadow.1?["duplicates"]?.int == 0)
            // A retry of the shadow is a duplicate.
            let again = try await client.send(
                .post, "/v1/predictions", JSONWriter.string(.array([Self.prediction("a", "ok", shadow: true)])))
            #expect(again.1?["duplicates"]?.int == 1)
            // One label for "a" joins both.
            try await client.send(
                .post, "/v1/labels",
                JSONWriter.string(.array([.object([("id", .string("a")), ("model", .string("m")), ("label", .string("fraud"))])])))
            // A shadow arriving after its id was labelled takes the label too.
            try await client.send(.post, "/v1/predictions", JSONWriter.string(.array([Self.prediction("b", "ok")])))
            try await client.send(
                .post, "/v1/labels",
                JSONWriter.string(.array([.object([("id", .string("b")), ("model", .string("m")), ("label", .string("ok"))])])))
            try await client.send(
                .post, "/v1/predictions", JSONWriter.string(.array([Self.prediction("b", "fraud", shadow: true)])))
            await engine.evaluate(at: Self.t0)
            // The live window holds the live predictions only; both labelled and right.
            let liveCounts = try await Self.counts(client)
            #expect(liveCounts == (2, 2, 1.0))
            // The shadow series holds the shadows, labelled by the same labels, and both wrong.
            let shadows = try await Self.counts(client, "&variant=shadow")
            #expect(shadows == (2, 2, 0.0))
            // `vigil_predictions_total` and the exported windows leave the shadows out.
            let metrics = try await client.send(.get, "/metrics").2
            #expect(metrics.contains(#"vigil_predictions_total{model="m",version="default"} 2"#), "\(metrics)")
            #expect(metrics.contains(#"vigil_window_predictions{model="m",version="default",window="1h"} 2"#))
            let (_, models, _) = try await client.send(.get, "/v1/models")
            #expect(models?["models"]?[0]?["counts"]?["predictions"]?.int == 2)
        }
        // Stored as two rows per id, each with the label.
        let rows = try await DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT ext_id, shadow, label FROM predictions ORDER BY ext_id, shadow")
        }
        let stored = rows.map { row -> String in
            let id: String = row["ext_id"]
            let shadow: Int = row["shadow"]
            let label: String? = row["label"]
            return "\(id)/\(shadow)/\(label ?? "-")"
        }
        #expect(stored == ["a/0/fraud", "a/1/fraud", "b/0/ok", "b/1/ok"])
    }

    /// A restart rebuilds the shadow series from storage like any other (the journal joins the
    /// shadow row, not the live one).
    @Test(arguments: Backend.all) func aRestartReplaysShadowsAndTheirLabels(backend: Backend) async throws {
        let clock = ManualClock(Self.t0)
        let directory = try TemporaryDirectory()
        let path = try backend.freshStore(in: directory)
        var config = VigilConfig()
        config.models["m"] = ModelConfig()
        config.models["m"]!.positiveClass = "fraud"
        try await withEngineApp(config, clock: clock, store: path) { client, engine in
            try await client.send(
                .post, "/v1/predictions",
                JSONWriter.string(.array([Self.prediction("a", "fraud"), Self.prediction("a", "ok", shadow: true)])))
            try await client.send(
                .post, "/v1/labels",
                JSONWriter.string(.array([.object([("id", .string("a")), ("model", .string("m")), ("label", .string("ok"))])])))
            await engine.evaluate(at: Self.t0, flush: false)
        }
        try await withEngineApp(config, clock: clock, store: path) { client, engine in
            await engine.evaluate(at: Self.t0)
            let live = try await Self.counts(client)
            let shadow = try await Self.counts(client, "&variant=shadow")
            #expect(live == (1, 1, 0.0))
            #expect(shadow == (1, 1, 1.0))
        }
    }
}
