import VigilStats

/// A numeric column of the reference: its decile edges and counts over them, its values (sorted,
/// up to `ReferenceProfile.maxValues`) for exact KS and Wasserstein on small windows, its fine
/// bins (from every value) for KS and Wasserstein on large ones, and a sketch.
public struct NumericReference: Sendable, Equatable {
    public var edges: [Double]
    public var counts: [Int]
    /// Sorted finite values, or `nil` when there were more than `ReferenceProfile.maxValues`.
    public var values: [Double]?
    public var sketch: QuantileSketch
    /// `nil` only for a profile stored before fine bins whose values were not kept.
    public private(set) var fine: FineBinLayout?
    /// The decile bin of each fine bin (derived from `fine` and `edges`).
    public private(set) var coarse: [Int]?

    /// `nil` when no value is finite.
    init?(_ raw: [Double]) {
        let finite = raw.filter(\.isFinite).sorted()
        guard let edges = ReferenceBins.decileEdges(finite), var histogram = BinnedHistogram(edges: edges) else {
            return nil
        }
        var sketch = QuantileSketch()
        for x in finite {
            histogram.add(x)
            sketch.add(x)
        }
        self.edges = edges
        self.counts = histogram.counts
        self.values = finite.count <= ReferenceProfile.maxValues ? finite : nil
        self.sketch = sketch
        self.fine = FineBinLayout(sorted: finite)
        self.coarse = fine?.coarseBins(edges)
    }

    /// A decoded reference; `fine` is rebuilt from the values when it was not stored.
    init(edges: [Double], counts: [Int], values: [Double]?, sketch: QuantileSketch, fine: FineBinLayout?) {
        self.edges = edges
        self.counts = counts
        self.values = values
        self.sketch = sketch
        self.fine = fine ?? values.flatMap { FineBinLayout(sorted: $0) }
        self.coarse = self.fine?.coarseBins(edges)
    }
}

/// The baseline drift is measured against (DESIGN §1): aggregates of the reference rows, kept
/// whole (one profile per model) and replaced as a unit, so every window compares against the
/// same bins. Reference rows count in no window.
public struct ReferenceProfile: Sendable, Equatable {
    /// Numeric values kept verbatim up to this many per column (exact KS and Wasserstein).
    public static let maxValues = 50_000
    /// Largest reference accepted (upload or frozen range).
    public static let maxRows = 200_000

    public enum Source: String, Sendable, Equatable {
        case first, upload, frozen
    }

    /// Increases with every new reference; bucket histograms and calibrated estimates remember
    /// the generation they were folded under.
    public var generation: Int64
    public var source: Source
    public var createdAt: Int64
    public var rows: Int
    public var labeled: Int
    /// Event-time span of the rows.
    public var from: Int64?
    public var to: Int64?
    public var numeric: [String: NumericReference] = [:]
    public var categorical: [String: CategoryCounts] = [:]
    public var outputClasses: CategoryCounts?
    public var outputNumeric: NumericReference?
    public var confidence: NumericReference?
    /// Fitted on the labelled rows of a binary model (NannyML CBPE's calibration).
    public var calibrator: IsotonicCalibrator?

    public init(
        generation: Int64, source: Source, createdAt: Int64, rows: Int = 0, labeled: Int = 0
    ) {
        self.generation = generation
        self.source = source
        self.createdAt = createdAt
        self.rows = rows
        self.labeled = labeled
    }

    /// Builds a profile from reference rows, each with its label if it has one.
    public static func build(
        rows: [(prediction: Prediction, label: OutputValue?)], context: FoldContext, source: Source,
        generation: Int64, at now: Int64
    ) -> ReferenceProfile {
        var profile = ReferenceProfile(generation: generation, source: source, createdAt: now, rows: rows.count)
        var numbers: [String: [Double]] = [:]
        var outputs: [Double] = []
        var confidences: [Double] = []
        var classes = CategoryCounts(capacity: ModelSchema.Limits.classes)
        var probabilities: [Double] = []
        var outcomes: [Bool] = []
        for (p, label) in rows {
            profile.from = min(profile.from ?? p.timestamp, p.timestamp)
            profile.to = max(profile.to ?? p.timestamp, p.timestamp)
            for (name, value) in p.features {
                switch value {
                case .number(let x): numbers[name, default: []].append(x)
                case .category(let c): profile.categorical[name, default: CategoryCounts()].add(c)
                case .missing: break
                }
            }
            if context.task == .regression {
                if let y = p.output.numericValue { outputs.append(y) }
            } else if context.task != .generative {
                classes.add(p.output.classKey)
            }
            if let c = context.confidence(of: p) { confidences.append(c) }
            if let label { profile.labeled += 1 }
            if let label, let positive = context.positiveClass, let prob = context.positiveProbability(of: p) {
                probabilities.append(prob)
                outcomes.append(label.classKey == positive)
            }
        }
        for (name, values) in numbers { profile.numeric[name] = NumericReference(values) }
        if context.task == .regression {
            profile.outputNumeric = NumericReference(outputs)
        } else if context.task != .generative {
            profile.outputClasses = classes
        }
        profile.confidence = NumericReference(confidences)
        if context.task == .binary, Set(outcomes).count == 2 {
            profile.calibrator = IsotonicCalibrator(probabilities: probabilities, outcomes: outcomes)
        }
        return profile
    }
}
