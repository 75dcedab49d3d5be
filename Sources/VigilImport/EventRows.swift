import CSV
import Foundation
import VigilCore

/// The rows of an import file, one event each, as NDJSON lines ready to send. A row that
/// cannot become an event is a local rejection with its reason.
protocol EventRows {
    /// The next row: a line to send, or the reason it cannot be sent; `nil` at the end.
    mutating func next() throws(ImportFailure) -> Result<String, LocalRejection>?
}

/// A row rejected before sending.
struct LocalRejection: Error {
    var reason: String
    var message: String
}

/// NDJSON: each non-empty line is sent as it is (the server validates it).
struct NDJSONRows: EventRows {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false

    init(path: String) throws(ImportFailure) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ImportFailure("cannot open \(path)") }
        self.handle = handle
    }

    mutating func next() throws(ImportFailure) -> Result<String, LocalRejection>? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[start..<newline]
                start = newline + 1
                if let text = Self.trimmed(line) { return text }
                continue
            }
            if atEnd {
                let rest = buffer[start...]
                start = buffer.count
                if let text = Self.trimmed(rest) { return text }
                return nil
            }
            buffer.removeFirst(start)
            start = 0
            let chunk: Data
            do { chunk = try handle.read(upToCount: 1 << 20) ?? Data() } catch { throw ImportFailure("reading failed: \(error)") }
            if chunk.isEmpty { atEnd = true } else { buffer.append(contentsOf: chunk) }
        }
    }

    private static func trimmed(_ line: ArraySlice<UInt8>) -> Result<String, LocalRejection>? {
        var line = line
        while let last = line.last, last == UInt8(ascii: "\r") || last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { line.removeLast() }
        guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }) else { return nil }
        guard let text = String(validating: line, as: UTF8.self) else {
            return .failure(LocalRejection(reason: "invalid_utf8", message: "the line is not UTF-8"))
        }
        return .success(text)
    }
}

/// CSV with a header row: columns mapped to event fields by `ImportOptions`.
struct CSVRows: EventRows {
    private let reader: CSVReader
    private let header: [String]
    private let mapping: CSVMapping
    private var rowsRead = 0

    init(path: String, options: ImportOptions) throws(ImportFailure) {
        guard let stream = InputStream(fileAtPath: path) else { throw ImportFailure("cannot open \(path)") }
        do {
            reader = try CSVReader(stream: stream, hasHeaderRow: true)
        } catch {
            throw ImportFailure("\(path) is not CSV with a header row: \(error)")
        }
        header = reader.headerRow ?? []
        mapping = try CSVMapping(header: header, options: options)
    }

    mutating func next() throws(ImportFailure) -> Result<String, LocalRejection>? {
        guard let row = reader.next() else {
            // On Linux a file InputStream reports bytes available at its end, so CSV.swift
            // reads past it and records `cannotReadFile`: that is the end of the file.
            if let error = reader.error, (error as? CSVError).map({ if case .cannotReadFile = $0 { false } else { true } }) ?? true {
                throw ImportFailure("the CSV stops parsing after row \(rowsRead): \(error)")
            }
            return nil
        }
        rowsRead += 1
        guard row.count == header.count else {
            return .failure(
                LocalRejection(reason: "csv_field_count", message: "\(row.count) fields where the header has \(header.count)"))
        }
        return .success(JSONWriter.string(mapping.event(row)))
    }
}
