/// Turns parsed JSON items into validated `Prediction`s and `Label`s with a precise reason for
/// every rejection (DESIGN §2). Time is a parameter: `receivedAt` stamps items sent without one.
public struct EventValidator: Sendable {
    /// Longest accepted id, in characters (DESIGN §1).
    public static let maxIDLength = 256
    /// Most features, scores, segments or metrics one item may carry.
    public static let maxMembers = 512
    /// Longest accepted name or categorical value, in characters (Unicode scalars, as JSON
    /// Schema's `maxLength` counts them, so `/openapi.yaml` can state it exactly).
    public static let maxNameLength = 1024
    /// Longest accepted prediction or label value, in characters.
    public static let maxOutputLength = 65_536

    private let config: VigilConfig

    public init(config: VigilConfig) { self.config = config }

    typealias Failure = (RejectReason, String)

    /// Validates one prediction item. `admitsFuture` lifts `limits.max_future_skew`, for reference
    /// rows, which fold into no time bucket.
    public func prediction(_ value: JSONValue, index: Int, receivedAt: Int64, admitsFuture: Bool = false)
        -> Result<Prediction, ItemError>
    {
        guard case .object(let item) = value else {
            return .failure(
                ItemError(
                    index: index, id: nil, reason: .notAnObject,
                    message: "item must be a JSON object, got \(value.typeName)"))
        }
        let id = Self.echoedID(item)
        do throws(ItemError) {
            return .success(
                try prediction(
                    item, receivedAt: receivedAt, admitsFuture: admitsFuture,
                    wrap: { ItemError(index: index, id: id, reason: $0, message: $1) }))
        } catch {
            return .failure(error)
        }
    }

    /// Validates one label item.
    public func label(_ value: JSONValue, index: Int) -> Result<Label, ItemError> {
        guard case .object(let item) = value else {
            return .failure(
                ItemError(
                    index: index, id: nil, reason: .notAnObject,
                    message: "item must be a JSON object, got \(value.typeName)"))
        }
        let id = Self.echoedID(item)
        let wrap = { (reason: RejectReason, message: String) in
            ItemError(index: index, id: id, reason: reason, message: message)
        }
        do throws(ItemError) {
            let (id, model) = try identity(item, wrap)
            var label = Label(id: id, model: model, value: nil)
            if let raw = item["label"], raw != .null {
                guard let output = output(raw) else {
                    throw wrap(.invalidLabel, "label must be a string, number or boolean, got \(raw.typeName)")
                }
                label.value = output
            }
            label.metrics = try numericMap(item["metrics"], "metrics", .invalidMetrics, wrap)
            if label.value == nil && label.metrics.isEmpty {
                throw wrap(.invalidLabel, "a label needs a 'label' value or non-empty 'metrics'")
            }
            if let raw = item["timestamp"], raw != .null {
                guard let ts = Timestamp.parse(raw) else { throw wrap(.invalidTimestamp, timestampMessage) }
                label.timestamp = ts
            }
            return .success(label)
        } catch {
            return .failure(error)
        }
    }

    private let timestampMessage = "timestamp must be an RFC 3339 string or Unix seconds between 1970 and 9999"

    /// The id an item error names: only a valid one, so a rejection never echoes a huge value.
    public static func echoedID(_ item: JSONObject) -> String? {
        guard case .string(let id)? = item["id"], !id.isEmpty, Self.length(id, atMost: maxIDLength) else { return nil }
        return id
    }

    /// Whether `s` has at most `limit` characters, without counting them when the UTF-8 length
    /// already decides (each character is 1 to 4 bytes).
    static func length(_ s: String, atMost limit: Int) -> Bool {
        let bytes = s.utf8.count
        if bytes <= limit { return true }
        if bytes > 4 * limit { return false }
        return s.unicodeScalars.count <= limit
    }

    /// A user-supplied name as error messages quote it: at most 40 characters.
    static func quoted(_ name: String) -> String {
        name.unicodeScalars.count <= 40 ? name : String(String.UnicodeScalarView(name.unicodeScalars.prefix(40))) + "…"
    }

    private func prediction(
        _ item: JSONObject, receivedAt: Int64, admitsFuture: Bool, wrap: (RejectReason, String) -> ItemError
    ) throws(ItemError) -> Prediction {
        let (id, model) = try identity(item, wrap)
        guard let raw = item["prediction"], raw != .null else {
            throw wrap(.invalidPrediction, "prediction is required")
        }
        guard let output = output(raw) else {
            throw wrap(.invalidPrediction, "prediction must be a string, number or boolean, got \(raw.typeName)")
        }
        var p = Prediction(id: id, model: model, timestamp: receivedAt, output: output)
        p.version = try tag(item["version"], "version", .invalidVersion, wrap) ?? "default"
        p.variant = try tag(item["variant"], "variant", .invalidVariant, wrap)
        if let ts = item["timestamp"], ts != .null {
            guard let t = Timestamp.parse(ts) else { throw wrap(.invalidTimestamp, timestampMessage) }
            // An event time far ahead would make a bucket that never rolls up or expires.
            guard admitsFuture || t <= receivedAt + config.limits.maxFutureSkew.millis else {
                throw wrap(
                    .futureTimestamp,
                    "timestamp is more than \(config.limits.maxFutureSkew.text) ahead of the server's clock (limits.max_future_skew)"
                )
            }
            p.timestamp = t
        }
        p.features = try features(item["features"], declared: config.model(model).features, wrap)
        if let c = item["confidence"], c != .null {
            guard case .number(let v) = c, v >= 0, v <= 1 else {
                throw wrap(.invalidConfidence, "confidence must be a number between 0 and 1")
            }
            p.confidence = v
        }
        p.scores = try numericMap(item["scores"], "scores", .invalidScores, wrap)
        if let bad = p.scores.first(where: { !($0.value >= 0 && $0.value <= 1) }) {
            throw wrap(.invalidScores, "scores['\(Self.quoted(bad.name))'] must be a probability between 0 and 1")
        }
        p.segments = try segments(item["segments"], wrap)
        p.metrics = try numericMap(item["metrics"], "metrics", .invalidMetrics, wrap)
        return p
    }

    private func identity(_ item: JSONObject, _ wrap: (RejectReason, String) -> ItemError) throws(ItemError) -> (
        String, String
    ) {
        guard case .string(let id)? = item["id"] else {
            throw wrap(.invalidID, item["id"] == nil ? "id is required" : "id must be a string")
        }
        guard !id.isEmpty, Self.length(id, atMost: Self.maxIDLength) else {
            throw wrap(.invalidID, "id must be 1 to \(Self.maxIDLength) characters")
        }
        guard case .string(let model)? = item["model"] else {
            throw wrap(.invalidModel, item["model"] == nil ? "model is required" : "model must be a string")
        }
        guard ModelName.isValid(model) else {
            throw wrap(.invalidModel, "model must match [A-Za-z0-9_.-]{1,64}")
        }
        return (id, model)
    }

    /// A prediction's or label's value: a string of at most `maxOutputLength` characters, a
    /// finite number or a boolean.
    public func output(_ value: JSONValue) -> OutputValue? {
        switch value {
        case .string(let s) where Self.length(s, atMost: Self.maxOutputLength): .text(s)
        case .number(let n) where n.isFinite: .number(n)
        case .bool(let b): .bool(b)
        default: nil
        }
    }

    private func tag(
        _ value: JSONValue?, _ field: String, _ reason: RejectReason, _ wrap: (RejectReason, String) -> ItemError
    ) throws(ItemError) -> String? {
        guard let value, value != .null else { return nil }
        guard case .string(let s) = value, (1...64).contains(s.unicodeScalars.count),
            !s.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { throw wrap(reason, "\(field) must be a string of 1 to 64 characters without control characters") }
        return s
    }

    private func members(
        _ value: JSONValue?, _ field: String, _ reason: RejectReason, _ wrap: (RejectReason, String) -> ItemError
    ) throws(ItemError) -> [JSONMember] {
        guard let value, value != .null else { return [] }
        guard case .object(let object) = value else {
            throw wrap(reason, "\(field) must be an object, got \(value.typeName)")
        }
        let unique = object.uniqueMembers
        guard unique.count <= Self.maxMembers else {
            throw wrap(reason, "\(field) has more than \(Self.maxMembers) entries")
        }
        if let bad = unique.first(where: { $0.key.isEmpty || !Self.length($0.key, atMost: Self.maxNameLength) }) {
            throw wrap(reason, "\(field) name '\(Self.quoted(bad.key))' must be 1 to \(Self.maxNameLength) characters")
        }
        return unique
    }

    private func features(
        _ value: JSONValue?, declared: [String: FeatureType], _ wrap: (RejectReason, String) -> ItemError
    ) throws(ItemError) -> [(name: String, value: FeatureValue)] {
        var result: [(name: String, value: FeatureValue)] = []
        for member in try members(value, "features", .invalidFeatures, wrap) {
            let (name, raw) = (member.key, member.value)
            let feature: FeatureValue
            switch raw {
            case .null: feature = .missing
            case .number(let n) where n.isFinite: feature = .number(n)
            case .number: throw wrap(.invalidFeatures, "features['\(Self.quoted(name))'] is not a finite number")
            case .string(let s) where Self.length(s, atMost: Self.maxNameLength): feature = .category(s)
            case .string:
                throw wrap(
                    .invalidFeatures,
                    "features['\(Self.quoted(name))'] is longer than \(Self.maxNameLength) characters")
            case .bool(let b): feature = .category(b ? "true" : "false")
            case .array, .object:
                throw wrap(
                    .invalidFeatures,
                    "features['\(Self.quoted(name))'] must be a number, string, boolean or null, got \(raw.typeName)")
            }
            if let expected = declared[name], let actual = feature.impliedType, actual != expected {
                throw wrap(
                    .typeMismatch,
                    "features['\(Self.quoted(name))'] is declared \(expected.rawValue) but got \(raw.typeName)")
            }
            result.append((name, feature))
        }
        return result
    }

    private func segments(_ value: JSONValue?, _ wrap: (RejectReason, String) -> ItemError) throws(ItemError) -> [(
        name: String, value: String
    )] {
        var result: [(name: String, value: String)] = []
        for member in try members(value, "segments", .invalidSegments, wrap) {
            let (name, raw) = (member.key, member.value)
            switch raw {
            case .null: continue
            case .string(let s) where Self.length(s, atMost: Self.maxNameLength): result.append((name, s))
            case .bool(let b): result.append((name, b ? "true" : "false"))
            case .number(let n) where n.isFinite: result.append((name, OutputValue.canonical(n)))
            default:
                throw wrap(
                    .invalidSegments,
                    "segments['\(Self.quoted(name))'] must be a string of at most \(Self.maxNameLength) characters, a number or a boolean"
                )
            }
        }
        return result
    }

    private func numericMap(
        _ value: JSONValue?, _ field: String, _ reason: RejectReason, _ wrap: (RejectReason, String) -> ItemError
    ) throws(ItemError) -> [(name: String, value: Double)] {
        var result: [(name: String, value: Double)] = []
        for member in try members(value, field, reason, wrap) {
            let (name, raw) = (member.key, member.value)
            switch raw {
            case .number(let n) where n.isFinite: result.append((name, n))
            case .bool(let b): result.append((name, b ? 1 : 0))
            default: throw wrap(reason, "\(field)['\(Self.quoted(name))'] must be a finite number")
            }
        }
        return result
    }
}
