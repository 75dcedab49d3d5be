import Foundation
import VigilStats

/// The demo's simulated production: a fraud classifier served as two variants and a generative
/// assistant, with ground truth that the faults of `Scenario` distort. Deterministic for a seed;
/// every event is rendered as one NDJSON line.
public struct TrafficWorld: Sendable {
    /// An event to send at `due` (Unix milliseconds); labels and feedback are due later.
    public struct Event: Sendable {
        public var due: Int64
        public var line: String
    }

    /// The faults that are on.
    public var active: Set<Scenario> = [.normal]
    /// Whether the canary variant still gets traffic (the kill switch turns it off).
    public var canaryOn = true
    /// The canary's share of fraud traffic while it is on.
    public var canaryShare = 0.2
    /// How long after a prediction its label (or feedback) arrives.
    public var labelDelay: Int64 = 3_000
    private var rng: SplitMix64
    private var sequence = 0
    private let runID: String

    public init(seed: UInt64, runID: String) {
        rng = SplitMix64(state: seed)
        self.runID = runID
    }

    // MARK: - Fraud

    /// One fraud prediction at `now` and its label, due `labelDelay` later.
    public mutating func fraud(at now: Int64) -> (prediction: Event, label: Event) {
        sequence += 1
        let id = "f-\(runID)-\(sequence)"
        let drifting = active.contains(.drift)
        let country = pick(drifting ? Self.driftedCountries : Self.countries)
        let region = Self.region[country] ?? "other"
        let amount = exp(3.8 + 0.9 * gaussian()) * (drifting ? 3 : 1)
        let accountAge = -400 * log(1 - uniform())
        // Ground truth: about one request in eight is fraud, more for large amounts and new accounts.
        let logit = -2.2 + 0.6 * log(amount / (drifting ? 135 : 45)) + (accountAge < 30 ? 1 : 0)
        let isFraud = uniform() < 1 / (1 + exp(-logit))
        let canary = canaryOn && uniform() < canaryShare
        // A good model: its score separates the classes (precision about 0.9).
        var score = 1 / (1 + exp(-((isFraud ? 2.2 : -2.2) + gaussian())))
        let flip = (active.contains(.segment) && region == "latam" ? 0.45 : 0) + (active.contains(.canary) && canary ? 0.3 : 0)
        if uniform() < flip { score = 1 - score }
        let predicted = score >= 0.5 ? "fraud" : "ok"
        let confidence = max(score, 1 - score)
        let prediction = """
            {"id":"\(id)","model":"fraud","version":"\(canary ? "v8" : "v7")","variant":"\(canary ? "canary" : "control")",\
            "features":{"amount":\(Self.format(amount, 2)),"country":"\(country)","account_age_days":\(Self.format(accountAge, 0))},\
            "prediction":"\(predicted)","confidence":\(Self.format(confidence, 4)),\
            "scores":{"fraud":\(Self.format(score, 4)),"ok":\(Self.format(1 - score, 4))},"segments":{"region":"\(region)"},\
            "metrics":{"latency_ms":\(Self.format(8 + 6 * -log(1 - uniform()), 1))}}
            """
        let label = #"{"id":"\#(id)","model":"fraud","label":"\#(isFraud ? "fraud" : "ok")"}"#
        return (Event(due: now, line: prediction), Event(due: now + labelDelay, line: label))
    }

    // MARK: - Assistant

    /// One assistant answer at `now` and the user's feedback on it, due `labelDelay` later.
    public mutating func assistant(at now: Int64) -> (prediction: Event, feedback: Event) {
        sequence += 1
        let id = "a-\(runID)-\(sequence)"
        let plan = uniform() < 0.3 ? "pro" : "free"
        let tokens = 80 + Int(300 * -log(1 - uniform()))
        let latency = 200 + Double(tokens) * 2 + 150 * gaussian().magnitude
        let hallucinated = uniform() < (active.contains(.hallucination) ? 0.30 : 0.03)
        let thumbsUp = uniform() < (hallucinated ? 0.1 : 0.85)
        let prediction = """
            {"id":"\(id)","model":"assistant","version":"gpt-demo-1","prediction":"answer \(sequence % 97) in \(tokens) tokens",\
            "segments":{"plan":"\(plan)"},\
            "metrics":{"latency_ms":\(Self.format(latency, 1)),"cost_usd":\(Self.format(Double(tokens) * 0.000_002, 6)),"output_tokens":\(tokens)}}
            """
        let feedback = """
            {"id":"\(id)","model":"assistant","metrics":{"thumbs_up":\(thumbsUp ? 1 : 0),"hallucination":\(hallucinated ? 1 : 0)}}
            """
        return (Event(due: now, line: prediction), Event(due: now + labelDelay, line: feedback))
    }

    // MARK: - Randomness

    private static let countries: [(String, Double)] = [("DE", 0.25), ("FR", 0.2), ("US", 0.3), ("BR", 0.15), ("IN", 0.1)]
    private static let driftedCountries: [(String, Double)] = [("DE", 0.1), ("FR", 0.05), ("US", 0.15), ("BR", 0.4), ("IN", 0.3)]
    private static let region = ["DE": "eu", "FR": "eu", "US": "us", "BR": "latam", "IN": "apac"]

    private mutating func uniform() -> Double { Double(rng.next() >> 11) * 0x1p-53 }

    /// A standard normal draw (Box–Muller).
    private mutating func gaussian() -> Double {
        let u = max(uniform(), 0x1p-53)
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * uniform())
    }

    private mutating func pick(_ weighted: [(String, Double)]) -> String {
        var u = uniform()
        for (value, weight) in weighted {
            if u < weight { return value }
            u -= weight
        }
        return weighted[weighted.count - 1].0
    }

    static func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
}
