import Foundation
import GRDB
import VigilCore

extension SQLiteStore: ReferenceStore {
    /// Stores a model's reference profile, replacing the previous one.
    public func saveReference(_ profile: ReferenceProfile, model: String, at now: Int64) async throws {
        let id = try await modelID(model, at: now)
        try await pool.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO reference_profiles (model_id, generation, data) VALUES (?, ?, ?)",
                arguments: [id, profile.generation, Data(profile.encoded())])
        }
    }

    /// Every stored reference profile, by model.
    public func loadReferences() throws -> [String: ReferenceProfile] {
        let names = modelNames()
        let (profiles, unreadable) = try pool.read { db in
            var out: [String: ReferenceProfile] = [:]
            var unreadable: [UnreadableRow] = []
            for row in try Row.fetchAll(db, sql: "SELECT model_id, data FROM reference_profiles") {
                let data: Data = row["data"]
                let model: Int64 = row["model_id"]
                guard let name = names[model], let profile = ReferenceProfile.decode(Array(data)) else {
                    // The model falls back to its default reference (its first N predictions).
                    unreadable.append(
                        UnreadableRow(source: "reference_profiles", key: "\(model)", reason: "profile does not decode", data: data) {
                            try $0.execute(sql: "DELETE FROM reference_profiles WHERE model_id = ?", arguments: [model])
                        })
                    continue
                }
                out[name] = profile
            }
            return (out, unreadable)
        }
        quarantine(unreadable)
        return profiles
    }
}
