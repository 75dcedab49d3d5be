import Foundation

/// Where an import stands, saved after every acknowledged batch so an interrupted run resumes
/// after the last row Vigil acknowledged (rows sent again meanwhile are duplicates, which ids
/// make harmless).
struct ImportState: Codable, Equatable {
    /// The file this state belongs to, and its size when the import began.
    var file: String
    var fileSize: Int64
    /// FNV-1a of the file's first 64 KiB: a file replaced by another of the same name and a
    /// larger size does not resume at the old row.
    var head: UInt64 = 0
    var kind: String
    /// Rows read and acknowledged (sent and answered, or rejected locally).
    var rowsDone = 0
    var accepted = 0
    var duplicates = 0
    var rejected: [String: Int] = [:]

    enum CodingKeys: String, CodingKey {
        case file, kind, accepted, duplicates, rejected, head
        case fileSize = "file_size"
        case rowsDone = "rows_done"
    }

    /// FNV-1a (64-bit) of the first 64 KiB of the file at `path`.
    static func headHash(_ path: String) -> UInt64 {
        guard let handle = FileHandle(forReadingAtPath: path) else { return 0 }
        defer { try? handle.close() }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in (try? handle.read(upToCount: 64 << 10)) ?? Data() {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return hash
    }

    static func load(_ path: String) -> ImportState? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(ImportState.self, from: data)
    }

    /// Writes the state atomically (a crash mid-write leaves the previous one).
    func save(_ path: String) throws(ImportFailure) {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ImportFailure("cannot save progress to \(path): \(error)")
        }
    }
}
