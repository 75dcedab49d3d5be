import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
import VigilCore

@testable import VigilServer

/// Issue 10's crash soak, on the real binary: `kill -9` at random moments over 20 cycles while
/// clients ingest predictions and labels and an alert fires. Afterwards: no acknowledged event
/// is lost or duplicated, `PRAGMA integrity_check` is ok, the alert is firing and was notified,
/// nothing in the outbox failed, and the document equals that of a process that never crashed
/// and was sent the same stored events.
@Suite(.serialized) struct CrashSoakTests {
    static let cycles = 20

    /// Everything about an event follows from its id, so a re-send or a replay carries the same values.
    static func traits(_ id: String) -> (output: Int, confidence: Double, amount: Double, region: String, label: Int) {
        var hash: UInt64 = 1469598103934665603
        for byte in id.utf8 { hash = (hash ^ UInt64(byte)) &* 1099511628211 }
        let output = Int(hash % 2)
        let confidence = 0.5 + Double((hash >> 8) % 50) / 100
        return (output, confidence, Double((hash >> 16) % 1000) / 10, (hash >> 24) % 3 == 0 ? "eu" : "us", Int((hash >> 32) % 2))
    }

    static func predictionLine(_ id: String, at ts: Int64) -> String {
        let t = traits(id)
        return #"{"id": "\#(id)", "model": "m", "timestamp": \#(Double(ts) / 1000), "prediction": \#(t.output), "confidence": \#(t.confidence), "features": {"amount": \#(t.amount)}, "segments": {"region": "\#(t.region)"}}"#
    }

    static func labelLine(_ id: String) -> String { #"{"id": "\#(id)", "model": "m", "label": \#(traits(id).label)}"# }

    final class Ledger: Sendable {
        let predictions = Mutex<Set<String>>([])
        let labels = Mutex<Set<String>>([])
    }

    static let ndjson: HTTPFields = [.contentType: "application/x-ndjson"]

    /// One client: batches of predictions, then labels for half of them, until the server dies.
    static func client(_ number: Int, cycle: Int, port: Int, at ts: Int64, ledger: Ledger) async {
        _ = try? await TestClient.withClient(host: "127.0.0.1", port: port) { http in
            for batch in 0..<1000 {
                let ids = (0..<40).map { "k\(cycle)-c\(number)-b\(batch)-\($0)" }
                let response = try await http.post(
                    "/v1/predictions", headers: ndjson,
                    body: ByteBuffer(string: ids.map { predictionLine($0, at: ts) }.joined(separator: "\n")))
                guard response.status == .ok else { return }
                ledger.predictions.withLock { $0.formUnion(ids) }
                let labelled = Array(ids.prefix(20))
                let labels = try await http.post(
                    "/v1/labels", headers: ndjson, body: ByteBuffer(string: labelled.map(labelLine).joined(separator: "\n")))
                guard labels.status == .ok else { return }
                ledger.labels.withLock { $0.formUnion(labelled) }
            }
        }
    }

    static func config(hook: Int) -> String {
        """
        evaluation_interval: 1s
        models: {m: {task: binary, positive_class: "1", segments: [region], reference: {first: 10000000}}}
        alerts:
          - {name: Traffic, model: m, metric: window_predictions, op: ">", threshold: 0, window: 1h, for: 0s, severity: warning, notify: [hook]}
        notifiers:
          hook: {type: webhook, url: "http://127.0.0.1:\(hook)/hook"}
        """
    }

    /// The exact sections of a document (sketch-derived values depend on fold order).
    static func approximatelyEqual(_ a: JSONValue?, _ b: JSONValue?) -> Bool {
        switch (a, b) {
        case (.number(let x)?, .number(let y)?): return abs(x - y) <= 1e-9 * max(1, abs(x), abs(y))
        case (.object(let x)?, .object(let y)?):
            return x.members.map(\.key) == y.members.map(\.key)
                && zip(x.members, y.members).allSatisfy { approximatelyEqual($0.value, $1.value) }
        case (.array(let x)?, .array(let y)?):
            return x.count == y.count && zip(x, y).allSatisfy { approximatelyEqual($0, $1) }
        default: return a == b
        }
    }

    static let sections = ["counts", "quality", "calibration", "fairness", "data_quality"]
    static func exactSections(_ document: JSONValue) -> [JSONValue?] { sections.map { document[$0] } }

    @Test func killNineAtRandomMomentsLosesNothing() async throws {
        let directory = try TemporaryDirectory()
        let receiver = WebhookReceiver()
        let ledger = Ledger()
        let ts = Int64(Date().timeIntervalSince1970 * 1000) - 1_800_000
        let window = "window=24h&to=\(ts / 1000 + 3600)"
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await receiver.application().runService() }
            try await HTTP.eventually(.seconds(60), "the receiver to listen") { receiver.port.withLock { $0 } > 0 }
            let configPath = directory.path("vigil.yaml")
            try Self.config(hook: receiver.port.withLock { $0 }).write(toFile: configPath, atomically: true, encoding: .utf8)
            let db = directory.path("vigil.db")
            var generator = SystemRandomNumberGenerator()
            for cycle in 0..<Self.cycles {
                let vigil = try await VigilProcess.serve(
                    db: db, logPath: directory.path("soak.log"), extra: ["--config", configPath])
                let clients = Task {
                    await withTaskGroup(of: Void.self) { clients in
                        for number in 0..<3 {
                            clients.addTask {
                                await Self.client(number, cycle: cycle, port: vigil.port, at: ts, ledger: ledger)
                            }
                        }
                    }
                }
                try await Task.sleep(for: .milliseconds(Int.random(in: 300...1500, using: &generator)))
                vigil.kill9()
                await clients.value
            }
            // The last process runs to a graceful stop.
            let last = try await VigilProcess.serve(db: db, logPath: directory.path("last.log"), extra: ["--config", configPath])
            let base = "http://127.0.0.1:\(last.port)"
            try await HTTP.eventually(.seconds(20), "the Traffic alert to fire") {
                try await HTTP.get("\(base)/v1/alerts").body.contains("Traffic")
            }
            try await HTTP.eventually(.seconds(20), "its webhook") {
                receiver.bodies().contains { $0["status"]?.stringValue == "firing" }
            }
            let soaked = try JSONParser.parse(try await HTTP.get("\(base)/v1/models/m/metrics?\(window)").body)
            #expect(await last.terminate() == 0)

            // Nothing acknowledged lost, nothing twice, the file sound, the outbox clean.
            let queue = try DatabaseQueue(path: db)
            let (stored, labelled, integrity, failed) = try queue.read { db in
                (
                    try String.fetchAll(db, sql: "SELECT ext_id FROM predictions"),
                    try Row.fetchAll(db, sql: "SELECT ext_id, label FROM predictions WHERE label IS NOT NULL"),
                    try String.fetchOne(db, sql: "PRAGMA integrity_check"),
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox WHERE state = 2")
                )
            }
            let acknowledged = ledger.predictions.withLock { $0 }
            #expect(acknowledged.count > 1000, "too little traffic to mean anything: \(acknowledged.count)")
            #expect(Set(stored).count == stored.count)
            #expect(acknowledged.subtracting(stored).isEmpty, "\(acknowledged.subtracting(stored).count) acknowledged lost")
            let labels = Dictionary(uniqueKeysWithValues: labelled.map { ($0["ext_id"] as String, $0["label"] as String) })
            let wrongLabels = ledger.labels.withLock({ $0 }).filter {
                labels[$0].flatMap(Double.init) != Double(Self.traits($0).label)
            }
            #expect(wrongLabels.isEmpty, "\(wrongLabels.count) acknowledged labels missing or different")
            #expect(integrity == "ok")
            #expect(failed == 0)

            // A process that never crashed, sent the same stored events: the same document.
            let fresh = try TemporaryDirectory()
            let clean = try await VigilProcess.serve(
                db: fresh.path("vigil.db"), logPath: fresh.path("clean.log"), extra: ["--config", configPath])
            for chunk in stride(from: 0, to: stored.count, by: 5000) {
                let ids = stored[chunk..<min(chunk + 5000, stored.count)]
                let body = ids.map { Self.predictionLine($0, at: ts) }.joined(separator: "\n")
                #expect(try await HTTP.post("http://127.0.0.1:\(clean.port)/v1/predictions", body, contentType: "application/x-ndjson").status == 200)
            }
            let labelIDs = Array(labels.keys)
            for chunk in stride(from: 0, to: labelIDs.count, by: 5000) {
                let body = labelIDs[chunk..<min(chunk + 5000, labelIDs.count)].map(Self.labelLine).joined(separator: "\n")
                #expect(try await HTTP.post("http://127.0.0.1:\(clean.port)/v1/labels", body, contentType: "application/x-ndjson").status == 200)
            }
            let reference = try JSONParser.parse(
                try await HTTP.get("http://127.0.0.1:\(clean.port)/v1/models/m/metrics?\(window)").body)
            for (name, (a, b)) in zip(Self.sections, zip(Self.exactSections(soaked), Self.exactSections(reference))) {
                // Floating sums depend on fold order (commit order differs): 1e-9 relative.
                #expect(Self.approximatelyEqual(a, b), "\(name) differs from the never-crashed process: \(String(describing: a)) vs \(String(describing: b))")
            }
            #expect(soaked["counts"]?["predictions"]?.int == stored.count)
            #expect(await clean.terminate() == 0)
            print("crash soak: \(Self.cycles) kill -9 cycles, \(acknowledged.count) predictions and \(ledger.labels.withLock { $0.count }) labels acknowledged, \(stored.count) stored")
            group.cancelAll()
        }
    }
}
