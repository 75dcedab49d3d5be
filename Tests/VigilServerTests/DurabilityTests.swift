import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
import VigilCore

/// What the clients were told was committed.
final class Ledger: Sendable {
    private let state = Mutex<(predictions: [String: String], labels: [String: (model: String, label: String)])>(
        ([:], [:]))
    func acknowledge(predictions ids: [String], model: String) {
        state.withLock { for id in ids { $0.predictions[id] = model } }
    }
    func acknowledge(labels: [(id: String, model: String, label: String)]) {
        state.withLock { for l in labels { $0.labels[l.id] = (l.model, l.label) } }
    }
    var predictions: [String: String] { state.withLock { $0.predictions } }
    var labels: [String: (model: String, label: String)] { state.withLock { $0.labels } }
}

/// The real binary under concurrent load, stopped abruptly or gracefully, restarted on the same
/// SQLite file: every acknowledged prediction and label is there, none twice (issue 3, point 2).
@Suite(.serialized) struct DurabilityTests {
    static let ndjson: HTTPFields = [.contentType: "application/x-ndjson"]

    static func predictionLine(_ id: String, model: String) -> String {
        #"{"id": "\#(id)", "model": "\#(model)", "prediction": "fraud", "confidence": 0.7, "features": {"amount": 12.5, "country": "DE"}, "segments": {"region": "eu"}}"#
    }

    static func labelLine(_ id: String, model: String, label: String) -> String {
        #"{"id": "\#(id)", "model": "\#(model)", "label": "\#(label)"}"#
    }

    /// One client: batches of predictions, then labels for half of them and for some ids of its
    /// next batch (held until it arrives), until the server stops answering.
    static func client(_ number: Int, port: Int, ledger: Ledger) async {
        let model = "m\(number % 3)"
        _ = try? await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            var batch = 0
            while batch < 10_000 {
                let ids = (0..<50).map { "c\(number)-b\(batch)-\($0)" }
                let body = ids.map { predictionLine($0, model: model) }.joined(separator: "\n")
                let response = try await client.post("/v1/predictions", headers: ndjson, body: ByteBuffer(string: body))
                guard response.status == .ok else { return }
                ledger.acknowledge(predictions: ids, model: model)
                // Labels for ids of the next batch are held until it arrives. They carry the
                // value the client sends again later: an unacknowledged in-flight request may
                // have committed, so a different value could legitimately have replaced it.
                let labels =
                    (ids.prefix(25).map { ($0, model, "ok") }
                        + (0..<5).map { ("c\(number)-b\(batch + 1)-\($0)", model, "ok") })
                let labelBody = labels.map { labelLine($0.0, model: $0.1, label: $0.2) }.joined(separator: "\n")
                let labelResponse = try await client.post(
                    "/v1/labels", headers: ndjson, body: ByteBuffer(string: labelBody))
                guard labelResponse.status == .ok else { return }
                ledger.acknowledge(labels: labels)
                batch += 1
            }
        }
    }

    /// Loads the server from 8 clients and stops it with `stop` once enough is acknowledged.
    static func loadAndStop(_ vigil: VigilProcess, stop: @escaping @Sendable () async -> Void) async throws -> Ledger {
        let ledger = Ledger()
        let port = vigil.port
        await withTaskGroup(of: Void.self) { group in
            for number in 0..<8 { group.addTask { await client(number, port: port, ledger: ledger) } }
            group.addTask {
                while ledger.predictions.count < 4000 { try? await Task.sleep(for: .milliseconds(20)) }
                await stop()
            }
        }
        return ledger
    }

    /// Restarts on the same file and checks every acknowledged item is stored exactly once.
    static func verify(db: String, directory: TemporaryDirectory, ledger: Ledger) async throws {
        let vigil = try await VigilProcess.serve(db: db, logPath: directory.path("second.log"))
        let predictions = ledger.predictions.sorted { $0.key < $1.key }
        let labels = ledger.labels.sorted { $0.key < $1.key }
        #expect(predictions.count >= 4000)
        try await TestClient.withClient(host: "127.0.0.1", port: vigil.port) { client in
            var duplicates = 0
            var accepted = 0
            for start in stride(from: 0, to: predictions.count, by: 1000) {
                let chunk = predictions[start..<min(start + 1000, predictions.count)]
                let body = chunk.map { predictionLine($0.key, model: $0.value) }.joined(separator: "\n")
                let response = try await client.post("/v1/predictions", headers: ndjson, body: ByteBuffer(string: body))
                let json = try JSONParser.parse(String(buffer: response.body ?? ByteBuffer()))
                duplicates += json.objectValue?["duplicates"]?.numberValue.map { Int($0) } ?? 0
                accepted += json.objectValue?["accepted"]?.numberValue.map { Int($0) } ?? 0
            }
            #expect(accepted == 0, "acknowledged predictions were lost")
            #expect(duplicates == predictions.count)
            var labelDuplicates = 0
            for start in stride(from: 0, to: labels.count, by: 1000) {
                let chunk = labels[start..<min(start + 1000, labels.count)]
                let body = chunk.map { labelLine($0.key, model: $0.value.model, label: $0.value.label) }.joined(
                    separator: "\n")
                let response = try await client.post("/v1/labels", headers: ndjson, body: ByteBuffer(string: body))
                let json = try JSONParser.parse(String(buffer: response.body ?? ByteBuffer()))
                labelDuplicates += json.objectValue?["duplicates"]?.numberValue.map { Int($0) } ?? 0
            }
            #expect(labelDuplicates == labels.count, "acknowledged labels were lost or changed")
        }
        #expect(await vigil.terminate() == 0)
        // The schema counts committed with the events agree with the rows, and no row is doubled.
        let queue = try DatabaseQueue(path: db)
        let (rows, distinct, counted, labeled, joined) = try await queue.read { db in
            let rows = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM predictions")!
            let distinct = try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM (SELECT DISTINCT model_id, ext_id FROM predictions)")!
            var counted = 0
            var labeled = 0
            for json in try String.fetchAll(db, sql: "SELECT schema FROM models") {
                let counts = try JSONParser.parse(json).objectValue?["counts"]?.objectValue
                counted += Int(counts?["predictions"]?.numberValue ?? -1)
                labeled += Int(counts?["labeled"]?.numberValue ?? -1)
            }
            let joined = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM predictions WHERE labeled_at IS NOT NULL")!
            return (rows, distinct, counted, labeled, joined)
        }
        #expect(rows == distinct)
        #expect(rows == counted)
        #expect(labeled == joined)
        #expect(rows >= predictions.count)
    }

    @Test func killNineMidStreamLosesNothingAcknowledged() async throws {
        let directory = try TemporaryDirectory()
        let db = directory.path("vigil.db")
        let vigil = try await VigilProcess.serve(db: db, logPath: directory.path("first.log"))
        let ledger = try await Self.loadAndStop(vigil) { vigil.kill9() }
        #expect(vigil.process.terminationReason == .uncaughtSignal)
        try await Self.verify(db: db, directory: directory, ledger: ledger)
    }

    @Test func sigtermFinishesInFlightRequestsAndExitsCleanly() async throws {
        let directory = try TemporaryDirectory()
        let db = directory.path("vigil.db")
        let vigil = try await VigilProcess.serve(db: db, logPath: directory.path("first.log"))
        let status = Mutex<Int32>(-1)
        let ledger = try await Self.loadAndStop(vigil) { let code = await vigil.terminate(); status.withLock { $0 = code } }
        #expect(status.withLock { $0 } == 0)
        let log = try String(contentsOfFile: directory.path("first.log"), encoding: .utf8)
        #expect(log.contains("storage closed"))
        try await Self.verify(db: db, directory: directory, ledger: ledger)
    }
}

@Suite struct CommandLineTests {
    @Test func checkConfigReportsLinesAndExitsNonZero() async throws {
        let directory = try TemporaryDirectory()
        let bad = directory.path("bad.yaml")
        try "server:\n  port: 70000\nwindows: [5m, soon]\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let (status, output) = try await runVigilAsync(["check-config", bad])
        #expect(status != 0)
        #expect(output.contains("\(bad):2:9: server.port must be between 0 and 65535"), "\(output)")
        #expect(output.contains("\(bad):3:15:"), "\(output)")
        let good = directory.path("good.yaml")
        try "windows: [5m, 1h]\nmodels:\n  fraud: {task: binary, positive_class: fraud}\n".write(
            toFile: good, atomically: true, encoding: .utf8)
        let (okStatus, okOutput) = try await runVigilAsync(["check-config", good])
        #expect(okStatus == 0, "\(okOutput)")
        #expect(okOutput.contains("OK"))
    }

    @Test func serveRefusesAnInvalidConfig() async throws {
        let directory = try TemporaryDirectory()
        let bad = directory.path("bad.yaml")
        try "evaluation_interval: often\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let (status, output) = try await runVigilAsync(["serve", "--config", bad, "--db", directory.path("x.db")])
        #expect(status != 0)
        #expect(output.contains("\(bad):1:22: evaluation_interval must be a duration"), "\(output)")
    }
}
