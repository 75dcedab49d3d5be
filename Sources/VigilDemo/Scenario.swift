/// One fault the demo's traffic generator can inject. Each is a way production models fail
/// quietly, and each has an alert rule in the demo's configuration that catches it.
public enum Scenario: String, CaseIterable, Sendable {
    /// Healthy traffic: the reference forms from it.
    case normal
    /// The fraud model's inputs move: `amount` triples and the country mix shifts.
    case drift
    /// One segment (`region: latam`) gets much worse predictions while the average looks fine.
    case segment
    /// The canary variant ships a worse model; a comparison rule rolls it back.
    case canary
    /// The assistant model's hallucination rate, reported by user feedback, climbs.
    case hallucination

    /// What the scenario does, printed as it starts.
    public var story: String {
        switch self {
        case .normal:
            "healthy traffic: fraud (variant control 80%, canary 20%) and the assistant; labels and feedback arrive 3 s later"
        case .drift: "fraud's inputs drift: amount triples and the country mix moves to BR and IN"
        case .segment: "fraud degrades for one segment: region latam gets 45% of its predictions wrong"
        case .canary: "the fraud canary ships a worse model: 30% of its predictions flipped"
        case .hallucination: "the assistant starts to hallucinate: feedback reports it on 30% of answers (3% before)"
        }
    }

    /// The alert rule that catches it (`nil` for normal traffic).
    public var rule: String? {
        switch self {
        case .normal: nil
        case .drift: "FraudFeatureDrift"
        case .segment: "FraudSegmentPrecisionLow"
        case .canary: "FraudCanaryRollback"
        case .hallucination: "AssistantHallucinationRate"
        }
    }
}

/// When each scenario starts, counted from the demo's start.
public struct Timeline: Sendable {
    public var steps: [(at: Duration, scenario: Scenario)]

    /// Every scenario in turn, 25 s apart after 20 s of healthy traffic; each stays on once started.
    public static let full = Timeline(steps: [
        (.zero, .normal), (.seconds(20), .drift), (.seconds(45), .segment), (.seconds(70), .canary),
        (.seconds(95), .hallucination),
    ])

    /// Healthy traffic, then one scenario after `warmup`.
    public static func only(_ scenario: Scenario, after warmup: Duration = .seconds(15)) -> Timeline {
        scenario == .normal ? Timeline(steps: [(.zero, .normal)]) : Timeline(steps: [(.zero, .normal), (warmup, scenario)])
    }
}
