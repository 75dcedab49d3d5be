import Foundation

/// Where an import stands, saved after every acknowledged batch so an interrupted run resumes
/// after the last row Vigil acknowledged (rows sent again meanwhile are duplicates, which ids
/// make harmless).
struct ImportState: Codable, Equatable {
    /// The file this state belongs to, and its size when the import began.
    var file: String
    var fileSize: Int64
    var kind: String
    /// Rows read and acknowledged (sent and answered, or rejected locally).
    var rowsDone = 0
    var accepted = 0
    var duplicates = 0
    var rejected: [String: Int] = [:]

    enum CodingKeys: String, CodingKey {
        case file, kind, accepted, duplicates, rejected
        case fileSize = "file_size"
        case rowsDone = "rows_done"
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
