/// What folding a model's events needs to know: its task, positive class, segment
/// specifications, input ranges and reference. Rebuilt from configuration, the learned schema
/// and the reference whenever one of them changes.
public struct FoldContext: Sendable {
    public var task: ModelTask
    public var positiveClass: String?
    public var segments: [SegmentSpec]
    /// Whether `segments` were learned (no configured specification): then each prediction is
    /// grouped by its own (schema-admitted) attributes, so a label's take-back meets exactly the
    /// groups its prediction was counted in, however many attributes were learned since.
    public var learnedSegments = false
    public var ranges: [String: ClosedRange<Double>]
    public var reference: ReferenceProfile?
    /// Fold numeric columns into the reference's fine bins too (`drift.fine_bins`).
    public var fineBins = false

    /// Groups per segment specification per bucket; further groups are counted in `overflow`.
    public static let maxGroups = 100

    public init(
        task: ModelTask, positiveClass: String? = nil, segments: [SegmentSpec] = [],
        ranges: [String: ClosedRange<Double>] = [:], reference: ReferenceProfile? = nil
    ) {
        self.task = task
        self.positiveClass = positiveClass
        self.segments = segments
        self.ranges = ranges
        self.reference = reference
    }

    /// The context of a model from its configuration and schema: configured segments, or every
    /// learned segment attribute on its own when none are configured.
    public init(config: ModelConfig, schema: ModelSchema?, reference: ReferenceProfile?) {
        let task = schema?.task(declared: config.task) ?? config.task ?? .binary
        let specs: [SegmentSpec]
        if !config.segments.isEmpty {
            specs = config.segments.map(SegmentSpec.init)
        } else {
            specs = (schema?.segments.keys.sorted() ?? []).map { SegmentSpec([$0]) }
        }
        let positive: String? =
            task == .binary ? (schema?.positiveClass(declared: config.positiveClass) ?? config.positiveClass) : nil
        self.init(task: task, positiveClass: positive, segments: specs, ranges: config.ranges, reference: reference)
        learnedSegments = config.segments.isEmpty
        fineBins = config.driftFineBins
    }


    var isClassification: Bool { task == .binary || task == .multiclass }

    /// The confidence drift is measured on: `confidence`, else the highest score.
    public func confidence(of p: Prediction) -> Double? {
        if let c = p.confidence { return c }
        return p.scores.map(\.value).max()
    }

    /// P(positive) of a binary prediction: its score, else the confidence of the predicted class
    /// (1 − confidence when the positive class was not predicted).
    public func positiveProbability(of p: Prediction) -> Double? {
        guard let positive = positiveClass else { return nil }
        return Self.positiveProbability(of: p, positive: positive)
    }

    /// P(`positive`) of a binary prediction (see `positiveProbability(of:)`).
    public static func positiveProbability(of p: Prediction, positive: String) -> Double? {
        if let s = p.scores.first(where: { $0.name == positive }) { return s.value }
        guard let c = p.confidence else { return nil }
        return p.output.classKey == positive ? c : 1 - c
    }
}
