import Foundation
import Testing
import VigilCore

/// Issue 14: `vigil import FILE --url URL`, the real binary against a real server.
@Suite(.serialized) struct ImportTests {
    /// `vigil import` started in the background, its output in a file.
    final class Run: Sendable {
        let process = Process()
        let outputPath: String

        init(_ arguments: [String], in directory: TemporaryDirectory, name: String = "import.out") throws {
            outputPath = directory.path(name)
            FileManager.default.createFile(atPath: outputPath, contents: nil)
            let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
            process.executableURL = URL(fileURLWithPath: VigilProcess.binary)
            process.arguments = ["import"] + arguments
            process.standardOutput = output
            process.standardError = output
            process.currentDirectoryURL = directory.url
            try process.run()
        }

        var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

        /// Waits for the exit (at most `seconds`) and returns the status and output.
        func finish(within seconds: Int = 120) async throws -> (Int32, String) {
            (await process.exitStatus(within: seconds), output)
        }

        deinit {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
    }

    static let header = "request_id,model_name,ts,prediction,confidence,amount,country,segments.region,metrics.latency_ms"

    /// `count` CSV prediction rows for model `fraud`, the first with a quoted comma in a field
    /// and a missing amount.
    static func csvRows(_ count: Int, from start: Int = 0) -> [String] {
        (start..<(start + count)).map { i in
            let country = i == start ? #""B,R""# : ["DE", "US", "FR"][i % 3]
            let amount = i == start ? "" : String(Double(i % 500) + 0.5)
            return "r\(i),fraud,\(1_796_000_000 + i),\(i % 5 == 0 ? "fraud" : "ok"),\(Double(i % 100) / 100),\(amount),\(country),eu,\(i % 40)"
        }
    }

    static func ndjsonPredictions(_ count: Int) -> String {
        (0..<count).map { #"{"id": "n\#($0)", "model": "m", "prediction": "\#($0 % 2)", "features": {"x": \#($0 % 97)}}"# }
            .joined(separator: "\n") + "\n"
    }

    static func models(_ base: String) async throws -> [String: JSONValue] {
        let listed = try JSONParser.parse(try await HTTP.get("\(base)/v1/models").body)
        var byName: [String: JSONValue] = [:]
        for model in listed["models"]?.array ?? [] { if let name = model["name"]?.stringValue { byName[name] = model } }
        return byName
    }

    static let mapping = ["--column", "id=request_id", "--column", "model=model_name", "--column", "timestamp=ts"]

    /// CSV columns land where the flags say; rejected rows are counted by reason with their row
    /// numbers; labels come from NDJSON; nothing is left of the progress file.
    @Test func aCSVIsImportedWithItsColumnsMappedAndRejectionsCounted() async throws {
        let directory = try TemporaryDirectory()
        let vigil = try await VigilProcess.serve(db: directory.path("vigil.db"), logPath: directory.path("vigil.log"))
        let base = "http://127.0.0.1:\(vigil.port)"
        let rows = [Self.header] + Self.csvRows(1_000) + ["bad,fraud,1796000000,ok,2.5,1,DE,eu,1", "short,fraud"]
        try (rows.joined(separator: "\n") + "\n").write(toFile: directory.path("history.csv"), atomically: true, encoding: .utf8)
        let (status, output) = try await Run(["history.csv", "--url", base] + Self.mapping, in: directory).finish()
        #expect(status == 0, "\(output)")
        #expect(output.contains("1,002 rows read: 1,000 accepted, 0 duplicates, 2 rejected"), "\(output)")
        #expect(output.contains("row 1001 (id bad): invalid_confidence"), "\(output)")
        #expect(output.contains("row 1002: csv_field_count: 2 fields where the header has 9"), "\(output)")
        #expect(!FileManager.default.fileExists(atPath: directory.path("history.csv.vigil-import")))

        let fraud = try #require(try await Self.models(base)["fraud"])
        #expect(fraud["counts"]?["predictions"]?.numberValue == 1_000)
        #expect(fraud["counts"]?["first_prediction_at"]?.numberValue == 1_796_000_000_000, "ts is the event time")
        let features = Dictionary(
            uniqueKeysWithValues: (fraud["features"]?.array ?? []).compactMap { f in
                f["name"]?.stringValue.map { ($0, (f["type"]?.stringValue ?? "", f["missing"]?.numberValue ?? -1)) }
            })
        #expect(features["amount"]?.0 == "numeric" && features["amount"]?.1 == 1, "an empty cell is a missing value")
        #expect(features["country"]?.0 == "categorical")
        #expect(features.count == 2, "segments.region and metrics.latency_ms are not features: \(features)")
        #expect(fraud["segments"]?["region"]?["eu"]?.numberValue == 1_000)
        #expect(fraud["prediction_metrics"]?.array.compactMap(\.stringValue) == ["latency_ms"])
        #expect(fraud["classes"]?["fraud"]?.numberValue == 200)

        let labels = (0..<1_000).map { #"{"id": "r\#($0)", "model": "fraud", "label": "\#($0 % 4 == 0 ? "fraud" : "ok")"}"# }
        try (labels.joined(separator: "\n") + "\n{\"id\": \"r5\"}\n").write(
            toFile: directory.path("labels.ndjson"), atomically: true, encoding: .utf8)
        let (labelStatus, labelOutput) = try await Run(["labels.ndjson", "--url", base, "--kind", "labels"], in: directory).finish()
        #expect(labelStatus == 0, "\(labelOutput)")
        #expect(labelOutput.contains("1,001 rows read: 1,000 accepted"), "\(labelOutput)")
        #expect(try await Self.models(base)["fraud"]?["counts"]?["labeled"]?.numberValue == 1_000)
        #expect(await vigil.terminate() == 0)
    }

    /// kill -9 mid-import, then the same command: it resumes after the last acknowledged
    /// batch, and every row is stored exactly once.
    @Test func anInterruptedImportResumesWithNothingLostOrDoubled() async throws {
        let directory = try TemporaryDirectory()
        let vigil = try await VigilProcess.serve(db: directory.path("vigil.db"), logPath: directory.path("vigil.log"))
        let base = "http://127.0.0.1:\(vigil.port)"
        let total = 30_000
        try Self.ndjsonPredictions(total).write(toFile: directory.path("events.ndjson"), atomically: true, encoding: .utf8)
        let arguments = ["events.ndjson", "--url", base, "--batch-size", "500"]
        let first = try Run(arguments, in: directory, name: "first.out")
        let statePath = directory.path("events.ndjson.vigil-import")
        var done = 0
        let deadline = ContinuousClock.now + .seconds(120)
        while done < 3_000, first.process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            if let data = FileManager.default.contents(atPath: statePath), let state = try? JSONParser.parse(Array(data)) {
                done = Int(state["rows_done"]?.numberValue ?? 0)
            }
        }
        #expect(first.process.isRunning, "the import ended before it could be interrupted: \(first.output)")
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        let stored = Int(try await Self.models(base)["m"]?["counts"]?["predictions"]?.numberValue ?? 0)
        #expect(stored >= 3_000 && stored < total, "\(stored) stored when it was killed")

        let (status, output) = try await Run(arguments, in: directory, name: "second.out").finish()
        #expect(status == 0, "\(output)")
        #expect(output.contains("vigil import: resuming after row"), "\(output)")
        #expect(output.contains("30,000 rows read ("), "\(output)")
        #expect(try await Self.models(base)["m"]?["counts"]?["predictions"]?.numberValue == Double(total))
        #expect(!FileManager.default.fileExists(atPath: statePath))
        #expect(await vigil.terminate() == 0)
    }

    /// A server that is not up yet, then one that rate-limits: the import waits, retries
    /// (honouring Retry-After) and completes with every row stored once.
    @Test func itWaitsForAServerThatIsDownOrBusy() async throws {
        let directory = try TemporaryDirectory()
        let probe = try await VigilProcess.serve(db: directory.path("probe.db"), logPath: directory.path("probe.log"))
        let port = probe.port
        #expect(await probe.terminate() == 0)
        try "server: {rate_limit: 2}\n".write(toFile: directory.path("vigil.yaml"), atomically: true, encoding: .utf8)
        try Self.ndjsonPredictions(2_000).write(toFile: directory.path("events.ndjson"), atomically: true, encoding: .utf8)
        let base = "http://127.0.0.1:\(port)"
        let run = try Run(["events.ndjson", "--url", base, "--batch-size", "100"], in: directory)
        try await Task.sleep(for: .seconds(2))
        #expect(run.process.isRunning, "it gave up on a server that is down: \(run.output)")
        let vigil = try VigilProcess(
            arguments: ["serve", "--db", directory.path("vigil.db"), "--port", "\(port)", "--config", directory.path("vigil.yaml")],
            logPath: directory.path("vigil.log"))
        try await vigil.waitUntilListening()
        let (status, output) = try await run.finish()
        #expect(status == 0, "\(output)")
        #expect(output.contains("retrying in"), "\(output)")
        #expect(output.contains(" 429 "), "the rate limit was met: \(output)")
        #expect(output.contains("2,000 rows read: 2,000 accepted"), "\(output)")
        try await Task.sleep(for: .seconds(1.5))  // this read is rate-limited too
        #expect(try await Self.models(base)["m"]?["counts"]?["predictions"]?.numberValue == 2_000)
        #expect(await vigil.terminate() == 0)
    }

    /// Mistakes in the command are refused before anything is sent, each with what to fix.
    @Test func badArgumentsAreRefused() async throws {
        let directory = try TemporaryDirectory()
        try ([Self.header] + Self.csvRows(3)).joined(separator: "\n").write(
            toFile: directory.path("h.csv"), atomically: true, encoding: .utf8)
        let url = "http://127.0.0.1:9"
        let cases: [([String], String)] = [
            (["h.csv", "--url", url, "--model", "fraud"], "no id column"),
            (["h.csv", "--url", url, "--column", "id=request_id"], "no model column: pass --model"),
            (["h.csv", "--url", url, "--column", "id=nope"], "has no column nope"),
            (["h.csv", "--url", url, "--column", "colour=request_id"], "the field must be one of"),
            (["h.csv", "--url", url, "--features", "amount,weight"] + Self.mapping, "--features weight"),
            (["h.csv", "--url", "ftp://example"], "--url must be an http"),
            (["h.csv", "--url", url, "--column", "id"], "FIELD=COLUMN"),
            (["missing.csv", "--url", url], "cannot read missing.csv"),
        ]
        for (arguments, message) in cases {
            let (status, output) = try await Run(arguments, in: directory).finish()
            #expect(status != 0, "\(arguments)")
            #expect(output.contains(message), "\(arguments): \(output)")
        }
    }
}
