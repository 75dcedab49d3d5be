/// One entry of a model's release audit trail: a watched comparison's verdict changed, or an
/// `http` notifier (an action such as a kill switch) was answered.
public struct ReleaseEvent: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable { case verdict, notification }

    public var at: Int64
    public var model: String
    public var kind: Kind
    public var baseline: String?
    public var candidate: String?
    public var window: String?
    public var verdict: String?
    /// The verdict before this change (`nil`: the first seen since the comparison was watched).
    public var previous: String?
    /// The verdict's reason, or the notifier's answer.
    public var detail: String
    public var notifier: String?
    /// `delivered`, `retry` or `failed`.
    public var outcome: String?

    public init(
        at: Int64, model: String, kind: Kind, baseline: String? = nil, candidate: String? = nil, window: String? = nil,
        verdict: String? = nil, previous: String? = nil, detail: String, notifier: String? = nil, outcome: String? = nil
    ) {
        self.at = at
        self.model = model
        self.kind = kind
        self.baseline = baseline
        self.candidate = candidate
        self.window = window
        self.verdict = verdict
        self.previous = previous
        self.detail = detail
        self.notifier = notifier
        self.outcome = outcome
    }
}

/// The release audit trail (DESIGN §5): verdict changes and notifier answers, kept with the
/// alert history and listed by `GET /v1/models/{m}/releases`.
public protocol ReleaseLog: Sendable {
    func record(_ events: [ReleaseEvent]) async throws
    /// A model's entries, newest first.
    func releaseEvents(model: String, limit: Int) async throws -> [ReleaseEvent]
    /// The last recorded verdict of every comparison (`model`, `baseline`, `candidate`, `window`).
    func lastVerdicts() async throws -> [String: String]
}

extension ReleaseEvent {
    /// The key `lastVerdicts` uses for a comparison.
    public static func comparisonKey(model: String, baseline: String, candidate: String, window: String) -> String {
        [model, baseline, candidate, window].joined(separator: "\u{1}")
    }
}
