import VigilCore

/// The documents of one evaluation and their `/metrics` text, replaced whole by each evaluation.
package struct EvaluationSnapshot: Sendable {
    /// A snapshot entry: all of a model's series (`version == nil`) or one version's.
    package struct Key: Hashable, Sendable {
        var model: String
        var version: String?
        var window: String
    }

    var documents: [Key: MetricsDocument] = [:]
    var exposition: [UInt8] = []
}
