/// Durable reference profiles, one per model.
public protocol ReferenceStore: Sendable {
    /// Stores a model's reference profile, replacing the previous one.
    func saveReference(_ profile: ReferenceProfile, model: String, at now: Int64) async throws
    /// Every stored reference profile, by model.
    func loadReferences() throws -> [String: ReferenceProfile]
}
