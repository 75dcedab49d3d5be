/// The state of one alert instance (DESIGN §7): a rule applied to one series of one model.
public enum AlertState: String, Sendable, Equatable, Codable {
    case pending, firing, resolved
}

/// One alert instance: a rule's condition on one labelled series. Inactive instances do not
/// exist; resolved ones are history.
public struct Alert: Sendable, Equatable, Codable {
    /// The rule's name (also the `alertname` label).
    public var rule: String
    public var model: String
    /// `alertname`, `model`, `severity`, the series' own labels (`feature`, `segment`, …) and
    /// the rule's extra labels.
    public var labels: [String: String]
    /// `summary`, `description` (templated), `value`, `threshold`, `window`.
    public var annotations: [String: String]
    public var state: AlertState
    /// When the condition became true (Prometheus' ActiveAt).
    public var activeAt: Int64
    public var firedAt: Int64?
    public var resolvedAt: Int64?
    /// The metric's value at the last evaluation that found the condition true.
    public var value: Double
    public var fingerprint: String

    enum CodingKeys: String, CodingKey {
        case rule, model, labels, annotations, state, value, fingerprint
        case activeAt = "active_at"
        case firedAt = "fired_at"
        case resolvedAt = "resolved_at"
    }

    public init(
        rule: String, model: String, labels: [String: String], annotations: [String: String], state: AlertState,
        activeAt: Int64, value: Double
    ) {
        self.rule = rule
        self.model = model
        self.labels = labels
        self.annotations = annotations
        self.state = state
        self.activeAt = activeAt
        self.value = value
        self.fingerprint = Alert.fingerprint(labels)
    }

    /// A stable 64-bit FNV-1a hash of the sorted label pairs, in hex (as Alertmanager keys alerts
    /// by their label set).
    public static func fingerprint(_ labels: [String: String]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for key in labels.keys.sorted() {
            for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            hash = (hash ^ 0xff) &* 0x100_0000_01b3
            for byte in labels[key]!.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            hash = (hash ^ 0xfe) &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension ComparisonOp {
    /// Whether `value op threshold` holds.
    public func holds(_ value: Double, _ threshold: Double) -> Bool {
        switch self {
        case .greater: value > threshold
        case .greaterOrEqual: value >= threshold
        case .less: value < threshold
        case .lessOrEqual: value <= threshold
        case .equal: value == threshold
        case .notEqual: value != threshold
        }
    }
}
