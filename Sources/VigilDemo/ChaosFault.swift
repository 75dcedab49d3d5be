import VigilCore
import VigilStats

/// A fault `vigil demo --chaos` injects into a model's live predictions on their way to Vigil,
/// so a team can check that its own rules, routes and on-call catch it.
public enum ChaosFault: Sendable, Equatable, CustomStringConvertible {
    /// A `fraction` of predictions get a wrong answer (another class; a regression value off by
    /// about half its size).
    case qualityDrop(fraction: Double)
    /// The same, only for predictions whose segment `attribute` is `value`.
    case segmentBias(attribute: String, value: String, fraction: Double)
    /// `milliseconds` added to the prediction metric `metric` (where a prediction reports it).
    case latency(milliseconds: Double, metric: String)
    /// The numeric feature `feature` multiplied by `factor`.
    case drift(feature: String, factor: Double)

    /// Parses `quality-drop=0.3`, `segment-bias=region:eu:0.5`, `latency=+250` (or
    /// `latency=+250:metric_name`) and `drift=amount*3`; `nil` with the reason otherwise.
    public static func parse(_ text: String) -> Result<ChaosFault, ChaosFaultError> {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return .failure(ChaosFaultError(text: text, why: "expected NAME=VALUE")) }
        let (name, value) = (parts[0], parts[1])
        func fraction(_ s: Substring) -> Double? { Double(s).flatMap { (0...1).contains($0) ? $0 : nil } }
        switch name {
        case "quality-drop":
            guard let f = fraction(Substring(value)) else { return .failure(ChaosFaultError(text: text, why: "the fraction must be in [0, 1]")) }
            return .success(.qualityDrop(fraction: f))
        case "segment-bias":
            let fields = value.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 3, !fields[0].isEmpty, !fields[1].isEmpty, let f = fraction(fields[2]) else {
                return .failure(ChaosFaultError(text: text, why: "expected segment-bias=ATTRIBUTE:VALUE:FRACTION, fraction in [0, 1]"))
            }
            return .success(.segmentBias(attribute: String(fields[0]), value: String(fields[1]), fraction: f))
        case "latency":
            let fields = value.split(separator: ":", maxSplits: 1)
            guard let first = fields.first, first.hasPrefix("+"), let ms = Double(first.dropFirst()), ms.isFinite, ms > 0 else {
                return .failure(ChaosFaultError(text: text, why: "expected latency=+MILLISECONDS[:METRIC]"))
            }
            return .success(.latency(milliseconds: ms, metric: fields.count == 2 ? String(fields[1]) : "latency_ms"))
        case "drift":
            let fields = value.split(separator: "*", maxSplits: 1)
            guard fields.count == 2, !fields[0].isEmpty, let k = Double(fields[1]), k.isFinite else {
                return .failure(ChaosFaultError(text: text, why: "expected drift=FEATURE*FACTOR"))
            }
            return .success(.drift(feature: String(fields[0]), factor: k))
        default:
            return .failure(ChaosFaultError(text: text, why: "unknown fault \(name): quality-drop, segment-bias, latency or drift"))
        }
    }

    public var description: String {
        switch self {
        case .qualityDrop(let f): "quality-drop: \(Self.percent(f)) of predictions answered wrong"
        case .segmentBias(let a, let v, let f): "segment-bias: \(Self.percent(f)) of \(a)=\(v) predictions answered wrong"
        case .latency(let ms, let metric): "latency: +\(ms) on metric \(metric)"
        case .drift(let feature, let k): "drift: feature \(feature) × \(k)"
        }
    }

    static func percent(_ f: Double) -> String { "\(Int((f * 100).rounded()))%" }
}

/// A fault that does not parse.
public struct ChaosFaultError: Error, CustomStringConvertible {
    public var text: String
    public var why: String
    public var description: String { "--fault \(text): \(why)" }
}

/// Applies faults to prediction events of one model. Wrong answers are drawn from the classes
/// the event's `scores` name, else from the predictions seen so far.
public struct ChaosInjector: Sendable {
    public let model: String
    public let faults: [ChaosFault]
    private var rng: SplitMix64
    private var classes: [String] = []

    public init(model: String, faults: [ChaosFault], seed: UInt64 = 1) {
        self.model = model
        self.faults = faults
        rng = SplitMix64(state: seed)
    }

    /// Learns the class `event` predicts (so that a wrong answer can be another class even
    /// when the request is the first to show it).
    public mutating func observe(_ event: JSONObject) {
        guard event["model"]?.stringValue == model, let p = event["prediction"]?.stringValue else { return }
        if !classes.contains(p), classes.count < 1_000 { classes.append(p) }
    }

    /// `event` with the faults applied, and whether anything changed.
    public mutating func apply(_ event: JSONObject) -> (JSONObject, Bool) {
        guard event["model"]?.stringValue == model else { return (event, false) }
        var members = event.uniqueMembers
        func value(_ key: String) -> JSONValue? { members.first { $0.key == key }?.value }
        func set(_ key: String, _ value: JSONValue) {
            if let i = members.firstIndex(where: { $0.key == key }) { members[i].value = value } else { members.append(JSONMember(key: key, value: value)) }
        }
        observe(event)
        var changed = false
        for fault in faults {
            switch fault {
            case .qualityDrop(let f):
                if uniform() < f, let wrong = wrongAnswer(value("prediction"), scores: value("scores")) {
                    set("prediction", wrong)
                    changed = true
                }
            case .segmentBias(let attribute, let v, let f):
                if value("segments")?.objectValue?[attribute]?.stringValue == v, uniform() < f,
                    let wrong = wrongAnswer(value("prediction"), scores: value("scores"))
                {
                    set("prediction", wrong)
                    changed = true
                }
            case .latency(let ms, let metric):
                // Only where the model reports the metric: a new series would be a different test.
                guard var metrics = value("metrics")?.objectValue, let current = metrics[metric]?.numberValue else { continue }
                metrics.members.removeAll { $0.key == metric }
                metrics.members.append(JSONMember(key: metric, value: .number(current + ms)))
                set("metrics", .object(metrics))
                changed = true
            case .drift(let feature, let k):
                guard var features = value("features")?.objectValue, let x = features[feature]?.numberValue else { continue }
                features.members.removeAll { $0.key == feature }
                features.members.append(JSONMember(key: feature, value: .number(x * k)))
                set("features", .object(features))
                changed = true
            }
        }
        return (JSONObject(members), changed)
    }

    private mutating func wrongAnswer(_ prediction: JSONValue?, scores: JSONValue?) -> JSONValue? {
        switch prediction {
        case .number(let y)?:
            let off = max(abs(y), 1) * 0.5 * (uniform() < 0.5 ? -1 : 1)
            return .number(y + off)
        case .string(let p)?:
            let choices = (scores?.objectValue?.uniqueMembers.map(\.key) ?? classes).filter { $0 != p }
            let pool = choices.isEmpty ? classes.filter { $0 != p } : choices
            guard !pool.isEmpty else { return nil }
            return .string(pool[Int(rng.next() % UInt64(pool.count))])
        case .bool(let b)?: return .bool(!b)
        default: return nil
        }
    }

    private mutating func uniform() -> Double { Double(rng.next() >> 11) * 0x1p-53 }
}
