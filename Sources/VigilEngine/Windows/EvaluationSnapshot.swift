import VigilCore

/// The documents of one evaluation and their `/metrics` text, replaced whole by each evaluation.
package struct EvaluationSnapshot: Sendable {
    /// A snapshot entry: all of a model's series (`version == nil`) or one version's.
    package struct Key: Hashable, Sendable {
        var model: String
        var version: String?
        var window: String
    }

    /// A watched comparison: a model's pair of sides over a window.
    package struct ComparisonKey: Hashable, Sendable {
        var model: String
        var pair: ComparisonPair
        var window: String
    }

    var documents: [Key: MetricsDocument] = [:]
    /// Every watched comparison (`release.watch` and comparison rules) of this evaluation.
    var comparisons: [ComparisonKey: ComparisonDocument] = [:]
    var exposition: [UInt8] = []
}
