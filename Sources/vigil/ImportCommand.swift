import ArgumentParser
import Foundation
import VigilImport

extension ImportOptions.Kind: ExpressibleByArgument {}
extension ImportOptions.Format: ExpressibleByArgument {}

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Send a file of historical predictions or labels (NDJSON or CSV) to a running Vigil.",
        discussion: """
            Rows go in batches; 408, 429, 5xx and connection failures are retried (honouring Retry-After) and a \
            413 splits the batch. Progress is saved after every acknowledged batch in FILE.vigil-import: run the \
            same command again after an interruption and it resumes (ids make resent rows duplicates, never \
            doubles). CSV needs a header row; columns named like event fields (id, model, timestamp, version, \
            variant, prediction, confidence, label) are those fields, features.X / segments.X / metrics.X / \
            scores.X columns go into those objects, and for predictions every other column is a feature.
            """)

    @Argument(help: "The file: NDJSON (one event per line) or CSV with a header row.") var file: String
    @Option(help: "Vigil's base URL.") var url: String
    @Option(help: "What the rows are: predictions or labels.") var kind: ImportOptions.Kind = .predictions
    @Option(help: "ndjson or csv (default: csv for *.csv, ndjson otherwise).") var format: ImportOptions.Format?
    @Option(help: "Environment variable holding a bearer token with the ingest scope.") var tokenEnv = "VIGIL_TOKEN"
    @Option(help: "CSV: the model of every row (when the file has no model column).") var model: String?
    @Option(name: .customLong("column"), help: "CSV: FIELD=COLUMN, the column holding an event field (repeatable).")
    var columns: [String] = []
    @Option(help: "CSV: comma-separated columns that are features.") var features: String?
    @Option(help: "CSV: comma-separated columns that are segments.") var segments: String?
    @Option(help: "CSV: comma-separated columns that are custom metrics.") var metrics: String?
    @Option(help: "CSV: comma-separated columns that are class scores.") var scores: String?
    @Option(help: "Rows per request (at most the server's max_items_per_request).") var batchSize = 5_000
    @Option(help: "Where progress is saved (default FILE.vigil-import).") var state: String?
    @Flag(help: "Start from the first row, ignoring saved progress.") var restart = false

    func validate() throws {
        guard (1...100_000).contains(batchSize) else { throw ValidationError("--batch-size must be between 1 and 100000") }
        guard URL(string: url)?.scheme.map({ ["http", "https"].contains($0) }) == true else {
            throw ValidationError("--url must be an http:// or https:// URL, such as http://127.0.0.1:9750")
        }
        for column in columns where !column.contains("=") { throw ValidationError("--column takes FIELD=COLUMN, not \(column)") }
    }

    func run() async throws {
        var options = ImportOptions(file: file, url: url)
        options.kind = kind
        options.format = format
        options.token = ProcessInfo.processInfo.environment[tokenEnv].flatMap { $0.isEmpty ? nil : $0 }
        options.model = model
        options.columns = Dictionary(
            columns.map { pair in (String(pair.prefix { $0 != "=" }), String(pair.drop { $0 != "=" }.dropFirst())) },
            uniquingKeysWith: { _, b in b })
        let list = { (text: String?) in text?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } ?? [] }
        (options.features, options.segments, options.metrics, options.scores) = (list(features), list(segments), list(metrics), list(scores))
        options.batchSize = batchSize
        options.statePath = state
        options.restart = restart
        do {
            let summary = try await Importer(options: options).run()
            print("\(file): \(summary.report)")
        } catch {
            print("vigil import: \(error)", to: &StandardError.stream)
            throw ExitCode(1)
        }
    }
}
