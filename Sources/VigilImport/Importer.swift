import AsyncHTTPClient
import Foundation
import NIOCore
import VigilCore

/// `vigil import`: streams a file of predictions or labels to a running Vigil in batches,
/// retrying what the server asks to retry, saving where it stands after every acknowledged
/// batch, and counting rejected rows by reason.
public struct Importer: Sendable {
    public let options: ImportOptions
    /// Where progress and retry notes go (standard error by default).
    let note: @Sendable (String) -> Void

    public init(options: ImportOptions, note: @escaping @Sendable (String) -> Void = Importer.standardError) {
        self.options = options
        self.note = note
    }

    public static let standardError: @Sendable (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    /// What the server answered for a batch, its item indices counted from the batch's start.
    struct Answer {
        var accepted = 0
        var duplicates = 0
        var errors: [(index: Int, id: String?, reason: String, message: String)] = []
        var unlisted = 0
    }

    /// Imports the whole file (or what is left of it) and returns the totals.
    public func run() async throws(ImportFailure) -> ImportSummary {
        // A redirected POST must not turn into a GET elsewhere: a 3xx is an answer, not a hop.
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        let result: Result<ImportSummary, ImportFailure>
        do { result = .success(try await importRows(client)) } catch { result = .failure(error) }
        try? await client.shutdown()
        return try result.get()
    }

    private func importRows(_ client: HTTPClient) async throws(ImportFailure) -> ImportSummary {
        let path = options.file
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let size = (attributes?[.size] as? NSNumber)?.int64Value else { throw ImportFailure("cannot read \(path)") }
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        var state = ImportState(file: absolute, fileSize: size, head: ImportState.headHash(path), kind: options.kind.rawValue)
        if !options.restart, let saved = ImportState.load(options.resolvedStatePath) {
            if saved.file == absolute, saved.kind == state.kind, saved.fileSize <= size, saved.head == state.head {
                state = saved
            } else {
                note("vigil import: \(options.resolvedStatePath) belongs to another file or kind; starting from the first row")
            }
        }
        let resumedFrom = state.rowsDone
        var rows: any EventRows =
            options.resolvedFormat == .csv ? try CSVRows(path: path, options: options) : try NDJSONRows(path: path)
        for _ in 0..<resumedFrom where try rows.next() != nil {}
        if resumedFrom > 0 { note("vigil import: resuming after row \(resumedFrom) (progress in \(options.resolvedStatePath))") }
        var progress = ImportProgress(total: Self.estimatedRows(path, csv: options.resolvedFormat == .csv), startRows: resumedFrom)
        var examples: [String] = []
        var finished = false
        while !finished {
            var lines: [String] = []
            var rowNumbers: [Int] = []
            var bytes = 0
            var read = 0
            while lines.count < options.batchSize, bytes < 4 << 20 {
                guard let row = try rows.next() else {
                    finished = true
                    break
                }
                read += 1
                switch row {
                case .success(let line):
                    lines.append(line)
                    rowNumbers.append(state.rowsDone + read)
                    bytes += line.utf8.count + 1
                case .failure(let rejection):
                    state.rejected[rejection.reason, default: 0] += 1
                    if examples.count < 5 { examples.append("row \(state.rowsDone + read): \(rejection.reason): \(rejection.message)") }
                }
            }
            if !lines.isEmpty {
                let answer = try await send(lines[...], client)
                state.accepted += answer.accepted
                state.duplicates += answer.duplicates
                for error in answer.errors {
                    state.rejected[error.reason, default: 0] += 1
                    if examples.count < 5 {
                        examples.append("row \(rowNumbers[error.index])\(error.id.map { " (id \($0))" } ?? ""): \(error.reason): \(error.message)")
                    }
                }
                if answer.unlisted > 0 { state.rejected["not_itemized", default: 0] += answer.unlisted }
            }
            state.rowsDone += read
            if read > 0 { try state.save(options.resolvedStatePath) }
            progress.update(rows: state.rowsDone, final: finished)
        }
        try? FileManager.default.removeItem(atPath: options.resolvedStatePath)
        return ImportSummary(
            rows: state.rowsDone, resumedFrom: resumedFrom, accepted: state.accepted, duplicates: state.duplicates,
            rejected: state.rejected, examples: examples)
    }

    /// Rows in the file, counted as lines (a CSV's header and quoted line breaks make it an estimate).
    static func estimatedRows(_ path: String, csv: Bool) -> Int? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var lines = 0
        var last: UInt8 = UInt8(ascii: "\n")
        while let chunk = try? handle.read(upToCount: 4 << 20), !chunk.isEmpty {
            lines += chunk.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
            last = chunk.last ?? last
        }
        if last != UInt8(ascii: "\n") { lines += 1 }
        return max(lines - (csv ? 1 : 0), 0)
    }
}

/// The totals of an import.
public struct ImportSummary: Sendable {
    public var rows: Int
    public var resumedFrom: Int
    public var accepted: Int
    public var duplicates: Int
    public var rejected: [String: Int]
    /// Up to five rejected rows with their row number and reason.
    public var examples: [String]

    public var rejectedCount: Int { rejected.values.reduce(0, +) }

    /// The report printed at the end.
    public var report: String {
        var text =
            "\(ImportProgress.grouped(rows)) rows read\(resumedFrom > 0 ? " (\(ImportProgress.grouped(resumedFrom)) by an earlier run)" : ""): "
            + "\(ImportProgress.grouped(accepted)) accepted, \(ImportProgress.grouped(duplicates)) duplicates, "
            + "\(ImportProgress.grouped(rejectedCount)) rejected"
        if !rejected.isEmpty {
            text += "\nrejected by reason:"
            for (reason, count) in rejected.sorted(by: { ($1.value, $0.key) < ($0.value, $1.key) }) {
                text += "\n  \(reason.padding(toLength: max(20, reason.count), withPad: " ", startingAt: 0)) \(ImportProgress.grouped(count))"
            }
            text += "\nfirst rejected rows:" + examples.map { "\n  " + $0 }.joined()
        }
        return text
    }
}
