/// A feature's value in one prediction: numbers are numeric, strings and booleans categorical,
/// `null` or absence missing (DESIGN §2).
public enum FeatureValue: Sendable, Equatable {
    case number(Double)
    case category(String)
    case missing

    /// The feature type this value implies, or `nil` for a missing value.
    public var impliedType: FeatureType? {
        switch self {
        case .number: .numeric
        case .category: .categorical
        case .missing: nil
        }
    }
}

/// What a model output: a class name, a number (regression) or free text (generative).
/// Booleans and integral numbers also name classes; `classKey` is that canonical name.
public enum OutputValue: Sendable, Equatable {
    case text(String)
    case number(Double)
    case bool(Bool)

    /// The canonical class name: strings as sent, `true`/`false`, integral numbers without a
    /// fraction (`1`, not `1.0`), other numbers in Swift's shortest round-trip form.
    public var classKey: String {
        switch self {
        case .text(let s): s
        case .bool(let b): b ? "true" : "false"
        case .number(let n): OutputValue.canonical(n)
        }
    }

    /// The numeric value, for regression.
    public var numericValue: Double? {
        if case .number(let n) = self { return n }
        return nil
    }

    /// A number as a class name: `1` for 1.0, shortest round-trip text otherwise.
    public static func canonical(_ n: Double) -> String {
        if n == n.rounded(), abs(n) < 1e15 { return String(Int64(n)) }
        return "\(n)"
    }
}

/// One inference, validated (DESIGN §1, §2).
public struct Prediction: Sendable, Equatable {
    /// A shadow prediction (`variant: shadow`): stored beside the live one of the same id.
    public var isShadow: Bool { variant == SeriesKey.shadow }

    /// Unique per model; at most 256 characters.
    public var id: String
    public var model: String
    /// Defaults to `"default"`.
    public var version: String
    /// Experiment arm or deployment slot (`control`, `canary`, `shadow`), if any.
    public var variant: String?
    /// Event time in milliseconds since the Unix epoch.
    public var timestamp: Int64
    /// Features in the order sent.
    public var features: [(name: String, value: FeatureValue)]
    public var output: OutputValue
    /// Probability of the predicted class.
    public var confidence: Double?
    /// Probability of every class, in the order sent.
    public var scores: [(name: String, value: Double)]
    /// Segment attribute → group, in the order sent.
    public var segments: [(name: String, value: String)]
    /// Custom numeric metrics (latency_ms, tokens, …).
    public var metrics: [(name: String, value: Double)]

    public init(
        id: String, model: String, version: String = "default", variant: String? = nil, timestamp: Int64,
        features: [(name: String, value: FeatureValue)] = [], output: OutputValue, confidence: Double? = nil,
        scores: [(name: String, value: Double)] = [], segments: [(name: String, value: String)] = [],
        metrics: [(name: String, value: Double)] = []
    ) {
        self.id = id
        self.model = model
        self.version = version
        self.variant = variant
        self.timestamp = timestamp
        self.features = features
        self.output = output
        self.confidence = confidence
        self.scores = scores
        self.segments = segments
        self.metrics = metrics
    }

    public static func == (lhs: Prediction, rhs: Prediction) -> Bool {
        lhs.id == rhs.id && lhs.model == rhs.model && lhs.version == rhs.version && lhs.variant == rhs.variant
            && lhs.timestamp == rhs.timestamp && lhs.output == rhs.output && lhs.confidence == rhs.confidence
            && lhs.features.elementsEqual(rhs.features, by: { $0.name == $1.name && $0.value == $1.value })
            && lhs.scores.elementsEqual(rhs.scores, by: { $0.name == $1.name && $0.value == $1.value })
            && lhs.segments.elementsEqual(rhs.segments, by: { $0.name == $1.name && $0.value == $1.value })
            && lhs.metrics.elementsEqual(rhs.metrics, by: { $0.name == $1.name && $0.value == $1.value })
    }
}

/// The ground truth for a prediction, joined by `(model, id)` (DESIGN §2).
public struct Label: Sendable, Equatable {
    public var id: String
    public var model: String
    /// The true class or value; `nil` for labels that carry only `metrics`.
    public var value: OutputValue?
    /// When the truth was observed (milliseconds since the epoch), if sent.
    public var timestamp: Int64?
    /// Delayed numeric metrics (thumbs_up, hallucination, …).
    public var metrics: [(name: String, value: Double)]

    public init(
        id: String, model: String, value: OutputValue?, timestamp: Int64? = nil,
        metrics: [(name: String, value: Double)] = []
    ) {
        self.id = id
        self.model = model
        self.value = value
        self.timestamp = timestamp
        self.metrics = metrics
    }

    /// Whether two labels carry the same truth (the re-send of a label is a duplicate; a
    /// different one replaces it). The observation timestamp does not make a label different.
    public func sameTruth(as other: Label) -> Bool {
        value == other.value
            && metrics.elementsEqual(other.metrics, by: { $0.name == $1.name && $0.value == $1.value })
    }

    public static func == (lhs: Label, rhs: Label) -> Bool {
        lhs.id == rhs.id && lhs.model == rhs.model && lhs.timestamp == rhs.timestamp && lhs.sameTruth(as: rhs)
    }
}
