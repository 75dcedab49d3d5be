import Foundation
import GRDB
import Testing
import VigilCore

/// Issue 10, defect 12: a commit writes the schema's small core and only the entries it
/// changed, generative models learn no classes, and a database written by de6ce92 (whole
/// schemas as JSON) upgrades in place to the same `/v1/models`.
@Suite(.serialized) struct SchemaStorageTests {
    static func fixture(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
    }

    /// Fails on de6ce92: the whole schema (here 6,400 segment groups) was rewritten on every
    /// commit, and a generative model's raw outputs became classes.
    @Test func aCommitWritesOnlyWhatChanged() async throws {
        let directory = try TemporaryDirectory()
        let configPath = directory.path("vigil.yaml")
        try "models: {chat: {task: generative}}\n".write(toFile: configPath, atomically: true, encoding: .utf8)
        let vigil = try await VigilProcess.serve(
            db: directory.path("vigil.db"), logPath: directory.path("vigil.log"), extra: ["--config", configPath])
        let base = "http://127.0.0.1:\(vigil.port)"
        // 64 segment attributes × 100 groups.
        for batch in 0..<10 {
            let items = (0..<100).map { i -> String in
                let segments = (0..<64).map { #""s\#($0)": "g\#(batch * 10 + i % 10)""# }.joined(separator: ",")
                return #"{"id": "p\#(batch)-\#(i)", "model": "m", "prediction": 1, "segments": {\#(segments)}}"#
            }
            #expect(try await HTTP.post("\(base)/v1/predictions", "[" + items.joined(separator: ",") + "]").status == 200)
        }
        let answer = String(repeating: "a long generated answer ", count: 2000)
        let chats = (0..<20).map { #"{"id": "c\#($0)", "model": "chat", "prediction": "\#(answer)\#($0)"}"# }
        #expect(try await HTTP.post("\(base)/v1/predictions", "[" + chats.joined(separator: ",") + "]").status == 200)
        let models = try JSONParser.parse(try await HTTP.get("\(base)/v1/models").body)
        let chat = try #require(models["models"]?.array.first { $0["name"]?.stringValue == "chat" })
        #expect(chat["classes"]?.objectValue?.members.isEmpty == true, "a generative model learned its outputs as classes")
        #expect(await vigil.terminate() == 0)

        let db = try DatabaseQueue(path: directory.path("vigil.db"))
        let (core, entries) = try await db.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT max(length(schema)) FROM models") ?? 0,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM model_entries WHERE kind = 3") ?? 0
            )
        }
        #expect(core < 4096, "the per-commit part of a schema is \(core) bytes")
        #expect(entries == 6400)
        // And the schema comes back whole after a restart.
        let again = try await VigilProcess.serve(
            db: directory.path("vigil.db"), logPath: directory.path("vigil2.log"), extra: ["--config", configPath])
        let reloaded = try JSONParser.parse(try await HTTP.get("http://127.0.0.1:\(again.port)/v1/models").body)
        #expect(reloaded == models)
        #expect(await again.terminate() == 0)
    }

    /// A database written by de6ce92 upgrades in place (migrations v4–v6): the same models,
    /// schemas and counts, and it takes new events.
    @Test func aDatabaseFromBeforeUpgradesInPlace() async throws {
        let directory = try TemporaryDirectory()
        let db = directory.path("vigil.db")
        try FileManager.default.copyItem(atPath: Self.fixture("vigil-de6ce92.db").path, toPath: db)
        let expected = try JSONParser.parse(Array(try Data(contentsOf: Self.fixture("vigil-de6ce92.models.json"))))
        // The configuration the fixture was written with.
        let configPath = directory.path("vigil.yaml")
        try "evaluation_interval: 1s\nmodels: {m: {reference: {first: 20}}}\n".write(
            toFile: configPath, atomically: true, encoding: .utf8)
        let vigil = try await VigilProcess.serve(db: db, logPath: directory.path("vigil.log"), extra: ["--config", configPath])
        let base = "http://127.0.0.1:\(vigil.port)"
        let models = try JSONParser.parse(try await HTTP.get("\(base)/v1/models").body)
        // `reference.installed` is newer than the fixture: everything else is as de6ce92
        // listed it, and the reference it installed (m's first 20) survived the upgrade.
        #expect(Self.withoutInstalledReferences(models) == expected)
        let listed = models["models"]?.array ?? []
        let m = listed.first { $0["name"]?.stringValue == "m" }?["reference"]?["installed"]
        #expect(m?["rows"]?.numberValue == 20)
        #expect(m?["source"]?.stringValue == "first")
        let gen = listed.first { $0["name"]?.stringValue == "gen" }?["reference"]?["installed"]
        #expect(gen == .null, "gen has 5 of its first 5,000 predictions: no reference yet")
        #expect(
            try await HTTP.post("\(base)/v1/labels", #"[{"id": "p40", "model": "m", "label": 1}, {"id": "p0", "model": "m", "label": 1}]"#)
                .status == 200)
        let document = try await HTTP.get("\(base)/v1/models/m/metrics?window=24h&to=2026-12-31T00:00:00Z")
        #expect(document.status == 200)
        #expect(await vigil.terminate() == 0)
    }

    /// `value` with every model's `reference.installed` member removed.
    static func withoutInstalledReferences(_ value: JSONValue) -> JSONValue {
        guard case .object(var root) = value, case .array(let models)? = root["models"] else { return value }
        let stripped = models.map { model -> JSONValue in
            guard case .object(var object) = model, case .object(var reference)? = object["reference"] else { return model }
            reference.members.removeAll { $0.key == "installed" }
            object.members = object.members.map { $0.key == "reference" ? JSONMember(key: "reference", value: .object(reference)) : $0 }
            return .object(object)
        }
        root.members = root.members.map { $0.key == "models" ? JSONMember(key: "models", value: .array(stripped)) : $0 }
        return .object(root)
    }
}
