/// What Vigil has learned about one model from its traffic: feature types, classes, segments,
/// versions, variants and counts. Persisted with every commit that changes it, so it is exactly
/// the committed state. Every set is capped (`Limits`) so a misbehaving client cannot grow it
/// without bound; what the cap turned away is counted.
public struct ModelSchema: Sendable, Equatable, Codable {
    /// Caps on the learned sets.
    public enum Limits {
        public static let features = 1000
        public static let classes = 1000
        public static let segmentAttributes = 64
        public static let segmentValues = 1000
        public static let versions = 1000
        public static let variants = 100
        public static let metricNames = 256
    }

    public struct FeatureInfo: Sendable, Equatable, Codable {
        /// The declared type, else that of the first non-missing value; `nil` while every
        /// value seen was missing.
        public var type: FeatureType?
        public var declared: Bool
        /// Values of the other type, accepted but counted rather than coerced.
        public var typeConflicts: Int
        public var missing: Int

        enum CodingKeys: String, CodingKey {
            case type, declared, missing
            case typeConflicts = "type_conflicts"
        }

        /// Counts one value: missing, or of the known type, or a conflict; the first typed value
        /// sets the type of an undeclared feature.
        mutating func record(_ implied: FeatureType?) {
            guard let implied else {
                missing += 1
                return
            }
            if let type {
                if type != implied { typeConflicts += 1 }
            } else {
                type = implied
            }
        }
    }

    public struct Counts: Sendable, Equatable, Codable {
        public var predictions = 0
        /// Labels stored (joined or held), re-sends excluded.
        public var labels = 0
        /// Predictions that have a label.
        public var labeled = 0
        /// Labels waiting for their prediction.
        public var pendingLabels = 0
        /// Labels whose prediction did not arrive within `label_ttl`.
        public var expiredLabels = 0
        /// Labels that replaced a different earlier label for the same id.
        public var replacedLabels = 0
        public var duplicatePredictions = 0
        public var duplicateLabels = 0
        public var firstPredictionAt: Int64?
        public var lastPredictionAt: Int64?
        public var lastLabelAt: Int64?

        enum CodingKeys: String, CodingKey {
            case predictions, labels, labeled
            case pendingLabels = "pending_labels"
            case expiredLabels = "expired_labels"
            case replacedLabels = "replaced_labels"
            case duplicatePredictions = "duplicate_predictions"
            case duplicateLabels = "duplicate_labels"
            case firstPredictionAt = "first_prediction_at"
            case lastPredictionAt = "last_prediction_at"
            case lastLabelAt = "last_label_at"
        }
    }

    public var name: String
    /// Features in first-seen order.
    public var featureOrder: [String] = []
    public var features: [String: FeatureInfo] = [:]
    /// Class name → times seen as a prediction or a label.
    public var classes: [String: Int] = [:]
    /// Segment attribute → group → predictions.
    public var segments: [String: [String: Int]] = [:]
    public var versions: [String: Int] = [:]
    public var variants: [String: Int] = [:]
    public var predictionMetrics: [String] = []
    public var labelMetrics: [String] = []
    /// Predictions whose output was a non-integral number (evidence of regression).
    public var fractionalOutputs = 0
    /// Values turned away by a cap, by what was capped.
    public var overflow: [String: Int] = [:]
    public var counts = Counts()
    /// The learned entries changed since `takeChanges()`, so storage writes only those.
    public var changes = Changes()

    /// Entries of the learned sets that changed. Not part of the schema's value: two schemas
    /// that differ only in what they have not written yet are equal.
    public struct Changes: Sendable, Equatable {
        public var features: Set<String> = []
        public var classes: Set<String> = []
        public var segments: Set<SegmentEntry> = []
        public var versions: Set<String> = []
        public var variants: Set<String> = []
        public var predictionMetrics: Set<String> = []
        public var labelMetrics: Set<String> = []

        public init() {}

        /// Pending writes do not make two schemas different.
        public static func == (_: Changes, _: Changes) -> Bool { true }

        public var isEmpty: Bool {
            features.isEmpty && classes.isEmpty && segments.isEmpty && versions.isEmpty && variants.isEmpty
                && predictionMetrics.isEmpty && labelMetrics.isEmpty
        }
    }

    /// One segment group of one attribute.
    public struct SegmentEntry: Sendable, Hashable {
        public var attribute: String
        public var group: String
    }

    /// What changed since the last call, clearing it.
    public mutating func takeChanges() -> Changes {
        defer { changes = Changes() }
        return changes
    }

    /// Marks every learned entry changed (a schema written out whole, as by a migration).
    public mutating func markAllChanged() {
        changes.features = Set(features.keys)
        changes.classes = Set(classes.keys)
        changes.segments = Set(segments.flatMap { attribute, groups in groups.keys.map { SegmentEntry(attribute: attribute, group: $0) } })
        changes.versions = Set(versions.keys)
        changes.variants = Set(variants.keys)
        changes.predictionMetrics = Set(predictionMetrics)
        changes.labelMetrics = Set(labelMetrics)
    }

    enum CodingKeys: String, CodingKey {
        case name, features, classes, segments, versions, variants, overflow, counts
        case featureOrder = "feature_order"
        case predictionMetrics = "prediction_metrics"
        case labelMetrics = "label_metrics"
        case fractionalOutputs = "fractional_outputs"
    }

    /// A new schema, seeded with the model's declared feature types.
    public init(name: String, config: ModelConfig) {
        self.name = name
        for (feature, type) in config.features.sorted(by: { $0.key < $1.key }) {
            featureOrder.append(feature)
            features[feature] = FeatureInfo(type: type, declared: true, typeConflicts: 0, missing: 0)
            changes.features.insert(feature)
        }
    }

    /// The task: the declared one, else inferred (fractional outputs → regression; at most two
    /// classes → binary; more → multiclass).
    public func task(declared: ModelTask?) -> ModelTask {
        if let declared { return declared }
        if fractionalOutputs > 0 { return .regression }
        return classes.count <= 2 ? .binary : .multiclass
    }

    /// The positive class: the declared one, else `1` or `true` when the two classes are
    /// {0, 1} or {false, true}; `nil` when it cannot be told.
    public func positiveClass(declared: String?) -> String? {
        if let declared { return declared }
        let names = Set(classes.keys)
        if names == ["0", "1"] { return "1" }
        if names == ["false", "true"] { return "true" }
        return nil
    }
}

extension ModelSchema {
    /// Folds a newly stored prediction into the schema. `learnClasses: false` (generative
    /// models) keeps raw outputs out of `classes`. Returns whether every feature, segment and
    /// metric name of `p` was admitted (a cap turned none away).
    @discardableResult
    public mutating func observe(_ p: Prediction, learnClasses: Bool = true) -> Bool {
        counts.predictions += 1
        counts.firstPredictionAt = min(counts.firstPredictionAt ?? p.timestamp, p.timestamp)
        counts.lastPredictionAt = max(counts.lastPredictionAt ?? p.timestamp, p.timestamp)
        var admittedAll = true
        for (name, value) in p.features where !observe(feature: name, value) { admittedAll = false }
        if case .number(let n) = p.output, n != n.rounded() { fractionalOutputs += 1 }
        if fractionalOutputs == 0, learnClasses {
            let key = p.output.classKey
            if Self.bump(&classes, key, cap: Limits.classes, "classes", overflow: &overflow) {
                changes.classes.insert(key)
            }
        }
        for (attribute, group) in p.segments where !observe(segment: attribute, group) { admittedAll = false }
        if Self.bump(&versions, p.version, cap: Limits.versions, "versions", overflow: &overflow) {
            changes.versions.insert(p.version)
        }
        if let variant = p.variant, Self.bump(&variants, variant, cap: Limits.variants, "variants", overflow: &overflow) {
            changes.variants.insert(variant)
        }
        for (metric, _) in p.metrics where !predictionMetrics.contains(metric) {
            guard predictionMetrics.count < Limits.metricNames else {
                overflow["metrics", default: 0] += 1
                admittedAll = false
                continue
            }
            predictionMetrics.append(metric)
            changes.predictionMetrics.insert(metric)
        }
        return admittedAll
    }

    private mutating func observe(segment attribute: String, _ group: String) -> Bool {
        let index: Dictionary<String, [String: Int]>.Index
        if let existing = segments.index(forKey: attribute) {
            index = existing
        } else {
            guard segments.count < Limits.segmentAttributes else {
                overflow["segment_attributes", default: 0] += 1
                return false
            }
            segments[attribute] = [:]
            index = segments.index(forKey: attribute)!
        }
        guard Self.bump(&segments.values[index], group, cap: Limits.segmentValues, "segment_values", overflow: &overflow)
        else { return false }
        changes.segments.insert(SegmentEntry(attribute: attribute, group: group))
        return true
    }

    /// `p` with only the features, segments and metric names this schema admitted: what the
    /// aggregates may fold, so their dictionaries are bounded by the schema's caps. Admission is
    /// permanent (a cap that turned a name away stays full), so the result is the same whenever
    /// it is taken after `p` was observed.
    public func admitted(_ p: Prediction) -> Prediction {
        // Nothing was ever turned away: every observed name was admitted.
        guard overflow["features"] != nil || overflow["segment_attributes"] != nil
            || overflow["segment_values"] != nil || overflow["metrics"] != nil
        else { return p }
        var q = p
        q.features = p.features.filter { features[$0.name] != nil }
        q.segments = p.segments.filter { segments[$0.name]?[$0.value] != nil }
        q.metrics = p.metrics.filter { predictionMetrics.contains($0.name) }
        return q
    }

    /// `label` with only the metric names this schema admitted.
    public func admitted(_ label: Label) -> Label {
        guard label.metrics.contains(where: { !labelMetrics.contains($0.name) }) else { return label }
        var l = label
        l.metrics = label.metrics.filter { labelMetrics.contains($0.name) }
        return l
    }

    /// Folds a stored label's truth into the schema (its class and metric names).
    public mutating func observe(_ label: Label, learnClasses: Bool = true) {
        if let value = label.value, fractionalOutputs == 0, learnClasses,
            Self.bump(&classes, value.classKey, cap: Limits.classes, "classes", overflow: &overflow)
        {
            changes.classes.insert(value.classKey)
        }
        for (metric, _) in label.metrics where !labelMetrics.contains(metric) {
            guard labelMetrics.count < Limits.metricNames else {
                overflow["metrics", default: 0] += 1
                continue
            }
            labelMetrics.append(metric)
            changes.labelMetrics.insert(metric)
        }
    }

    /// One hash lookup per known feature: this runs for every feature of every prediction on
    /// the single writer thread.
    private mutating func observe(feature name: String, _ value: FeatureValue) -> Bool {
        if let index = features.index(forKey: name) {
            let before = features.values[index]
            features.values[index].record(value.impliedType)
            if features.values[index] != before { changes.features.insert(name) }
            return true
        }
        guard features.count < Limits.features else {
            overflow["features", default: 0] += 1
            return false
        }
        featureOrder.append(name)
        var info = FeatureInfo(type: nil, declared: false, typeConflicts: 0, missing: 0)
        info.record(value.impliedType)
        features[name] = info
        changes.features.insert(name)
        return true
    }

    @discardableResult
    private static func bump(
        _ counts: inout [String: Int], _ key: String, cap: Int, _ what: String, overflow: inout [String: Int]
    ) -> Bool {
        if counts[key] != nil || counts.count < cap {
            counts[key, default: 0] += 1
            return true
        }
        overflow[what, default: 0] += 1
        return false
    }
}
