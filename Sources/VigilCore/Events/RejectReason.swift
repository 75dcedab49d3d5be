/// Why one ingested item was rejected. The raw value is the `reason` label of
/// `vigil_ingest_rejected_total`, so the set is closed (bounded cardinality).
public enum RejectReason: String, Sendable, CaseIterable {
    case malformedJSON = "malformed_json"
    case notAnObject = "not_an_object"
    case invalidID = "invalid_id"
    case invalidModel = "invalid_model"
    case invalidVersion = "invalid_version"
    case invalidVariant = "invalid_variant"
    case invalidTimestamp = "invalid_timestamp"
    case invalidPrediction = "invalid_prediction"
    case invalidLabel = "invalid_label"
    case invalidFeatures = "invalid_features"
    case typeMismatch = "type_mismatch"
    case invalidConfidence = "invalid_confidence"
    case invalidScores = "invalid_scores"
    case invalidSegments = "invalid_segments"
    case invalidMetrics = "invalid_metrics"
    /// The event time is further ahead of the receive time than `limits.max_future_skew`.
    case futureTimestamp = "future_timestamp"
    /// A new model past `limits.max_models`.
    case modelLimit = "model_limit"
    /// A new version of a model past `limits.max_versions`.
    case versionLimit = "version_limit"
    /// A new variant of a model past `limits.max_variants`.
    case variantLimit = "variant_limit"
    /// The stored prediction a label joins cannot be decoded (see the log and `quarantine`).
    case corruptRecord = "corrupt_record"

    /// The reasons an item of `kind` can be rejected for.
    public static func applicable(to kind: ItemKind) -> [RejectReason] {
        let common: [RejectReason] = [
            .malformedJSON, .notAnObject, .invalidID, .invalidModel, .invalidTimestamp, .invalidMetrics, .modelLimit,
        ]
        switch kind {
        case .label: return common + [.invalidLabel, .corruptRecord]
        case .prediction, .reference:
            return common + [
                .invalidVersion, .invalidVariant, .invalidPrediction, .invalidFeatures, .typeMismatch,
                .invalidConfidence, .invalidScores, .invalidSegments, .futureTimestamp, .versionLimit, .variantLimit,
            ]
        }
    }
}

/// One rejected item: its index in the request, its id when it had a readable one, the reason.
public struct ItemError: Error, Sendable, Equatable {
    public var index: Int
    public var id: String?
    public var reason: RejectReason
    public var message: String

    public init(index: Int, id: String?, reason: RejectReason, message: String) {
        self.index = index
        self.id = id
        self.reason = reason
        self.message = message
    }
}

/// What kind of item a request carries; the `kind` label of `vigil_ingest_rejected_total`.
public enum ItemKind: String, Sendable, CaseIterable {
    case prediction, label, reference

    /// The wrapper key of the object body shape (`{"predictions": [...]}`).
    public var wrapperKey: String {
        switch self {
        case .prediction, .reference: "predictions"
        case .label: "labels"
        }
    }
}
