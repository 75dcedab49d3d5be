import VigilStats

/// Everything Vigil keeps about one series over one time bucket, as mergeable aggregates
/// (DESIGN §9): a window is the merge of its buckets, and replicas can merge partial buckets.
/// Labels fold into the bucket of their prediction's event time, so a late label updates the
/// window its prediction fell in.
public struct BucketAggregate: Sendable, Equatable {
    public var predictions = 0
    public var labeled = 0
    public var numeric: [String: NumericAggregate] = [:]
    public var categorical: [String: CategoryCounts] = [:]
    public var outputClasses = CategoryCounts(capacity: 1000)
    public var outputNumeric = NumericAggregate()
    public var confidence = NumericAggregate()
    public var confusion = ConfusionMatrix()
    /// CBPE's expected confusion from (calibrated) P(positive); `calibrationGeneration` names the
    /// reference whose calibrator was applied (0: confidences as sent).
    public var expected = ExpectedConfusion()
    public var calibrationGeneration: Int64 = 0
    public var calibration = CalibrationBins()
    public var regression = RegressionErrors()
    /// Segment specification name → group → counters.
    public var groups: [String: [String: GroupCounters]] = [:]
    public var predictionMetrics: [String: MetricAggregate] = [:]
    public var labelMetrics: [String: MetricAggregate] = [:]
    /// Segment specification name → group → that group's custom metrics, for configured
    /// specifications only (learned segments have no per-group metrics), in the groups
    /// `groups` admitted.
    public var groupMetrics: [String: [String: GroupMetrics]] = [:]
    /// Values turned away by a cap (groups past `FoldContext.maxGroups`).
    public var overflow = 0

    public init() {}

    // MARK: - Folding

    /// Folds one stored prediction.
    public mutating func fold(_ p: Prediction, context: FoldContext) {
        predictions += 1
        let reference = context.reference
        let generation = reference?.generation ?? 0
        for (name, value) in p.features {
            switch value {
            case .number(let x):
                numeric[name, default: NumericAggregate()].add(
                    x, reference: reference?.numeric[name], generation: generation, range: context.ranges[name],
                    fineBins: context.fineBins)
            case .category(let c):
                categorical[name, default: CategoryCounts()].add(c)
            case .missing:
                break
            }
        }
        if context.task == .regression {
            if let y = p.output.numericValue {
                outputNumeric.add(
                    y, reference: reference?.outputNumeric, generation: generation, range: nil,
                    fineBins: context.fineBins)
            }
        } else if context.isClassification {
            outputClasses.add(p.output.classKey)
        }
        if let c = context.confidence(of: p), c.isFinite {
            confidence.add(
                c, reference: reference?.confidence, generation: generation, range: nil, fineBins: context.fineBins)
        }
        if let positive = context.positiveClass {
            let predictedPositive = p.output.classKey == positive
            if var prob = context.positiveProbability(of: p), prob.isFinite {
                if let calibrator = reference?.calibrator {
                    prob = calibrator.calibrate(prob)
                    if expected.count == 0 { calibrationGeneration = generation }
                }
                expected.add(predictedPositive: predictedPositive, probability: prob)
            }
            forEachGroup(of: p, context: context) { $0.addPrediction(positive: predictedPositive) }
        } else {
            forEachGroup(of: p, context: context) { $0.predictions += 1 }
        }
        for (name, value) in p.metrics {
            predictionMetrics[name, default: MetricAggregate()].add(value)
        }
        if !p.metrics.isEmpty {
            forEachAdmittedGroup(of: p, context: context) { metrics in
                p.metrics.reduce(0) { refused, m in refused + (metrics.add(m.name, m.value, label: false) ? 0 : 1) }
            }
        }
    }

    /// Folds a label joined to its prediction with the task and positive class of `folding`;
    /// `replacing` is the label it replaces with the folding that label was applied with, whose
    /// contribution is taken back first (sketch quantiles of label metrics keep it, see README).
    public mutating func fold(
        label: Label, folding: LabelFolding, of p: Prediction, replacing old: (label: Label, folding: LabelFolding)?,
        context: FoldContext
    ) {
        if let old {
            apply(old.label, folding: old.folding, of: p, context: context, sign: -1)
        } else {
            labeled += 1
        }
        apply(label, folding: folding, of: p, context: context, sign: 1)
    }

    /// Classes a bucket's confusion matrix holds; labels of further classes count in `overflow`.
    public static let maxConfusionClasses = 100

    private mutating func apply(_ label: Label, folding: LabelFolding, of p: Prediction, context: FoldContext, sign: Int)
    {
        if let truth = label.value {
            if folding.task == .regression {
                if let y = truth.numericValue, let yHat = p.output.numericValue {
                    regression.add(truth: y, predicted: yHat, sign: sign)
                }
            } else if folding.isClassification {
                let (t, predicted) = (truth.classKey, p.output.classKey)
                if sign < 0 {
                    confusion.remove(truth: t, predicted: predicted)
                } else if confusion.admits(truth: t, predicted: predicted, maxClasses: Self.maxConfusionClasses) {
                    confusion.add(truth: t, predicted: predicted)
                } else {
                    overflow += 1
                }
            }
            if let positive = folding.positiveClass {
                applyBinary(truth.classKey == positive, positive: positive, of: p, context: context, sign: sign)
            }
        }
        for (name, value) in label.metrics {
            if sign > 0 {
                labelMetrics[name, default: MetricAggregate()].add(value)
            } else {
                labelMetrics[name]?.moments.remove(value)
            }
        }
        if !label.metrics.isEmpty {
            forEachAdmittedGroup(of: p, context: context) { metrics in
                var refused = 0
                for (name, value) in label.metrics {
                    if sign < 0 {
                        metrics.label[name]?.remove(value)
                    } else if !metrics.add(name, value, label: true) {
                        refused += 1
                    }
                }
                return refused
            }
        }
    }

    /// The configured segment groups `p` was counted in, for their custom metrics; `body`
    /// returns how many values it refused (names past `GroupMetrics.maxNames`).
    private mutating func forEachAdmittedGroup(
        of p: Prediction, context: FoldContext, _ body: (inout GroupMetrics) -> Int
    ) {
        guard !context.learnedSegments else { return }
        for spec in context.segments {
            guard let group = spec.group(of: p.segments), groups[spec.name]?[group] != nil else { continue }
            let refused = body(&groupMetrics[spec.name, default: [:]][group, default: GroupMetrics()])
            overflow += refused
        }
    }

    /// Calibration and per-group outcomes of a binary label.
    private mutating func applyBinary(_ actual: Bool, positive: String, of p: Prediction, context: FoldContext, sign: Int)
    {
        let predicted = p.output.classKey == positive
        if let prob = FoldContext.positiveProbability(of: p, positive: positive), prob.isFinite {
            let clamped = Swift.min(1, Swift.max(0, prob))
            if sign > 0 {
                calibration.add(probability: clamped, positive: actual)
            } else {
                calibration.remove(probability: clamped, positive: actual)
            }
        }
        forEachGroup(of: p, context: context, creating: false) { counters in
            if sign > 0 {
                counters.addOutcome(predictedPositive: predicted, actualPositive: actual)
            } else {
                counters.removeOutcome(predictedPositive: predicted, actualPositive: actual)
            }
        }
    }

    private mutating func forEachGroup(
        of p: Prediction, context: FoldContext, creating: Bool = true, _ body: (inout GroupCounters) -> Void
    ) {
        if context.learnedSegments {
            // Each of the prediction's own (admitted) attributes alone: no specification to build.
            for (name, group) in p.segments { update(spec: name, group: group, creating: creating, body) }
            return
        }
        for spec in context.segments {
            guard let group = spec.group(of: p.segments) else { continue }
            update(spec: spec.name, group: group, creating: creating, body)
        }
    }

    private mutating func update(
        spec name: String, group: String, creating: Bool, _ body: (inout GroupCounters) -> Void
    ) {
        if groups[name]?[group] == nil {
            guard creating, (groups[name]?.count ?? 0) < FoldContext.maxGroups else {
                if creating { overflow += 1 }
                return
            }
        }
        body(&groups[name, default: [:]][group, default: GroupCounters()])
    }

    // MARK: - Merging

    /// What a merge carries: everything, or only what a comparison reads (counts, confusion,
    /// expected confusion, regression errors, groups, custom metrics) — features, the
    /// prediction and confidence distributions and calibration bins are the costly part.
    /// What a merge takes: everything; the outcomes only (counts, confusion, CBPE, regression,
    /// groups, custom metrics: what comparisons and most series need); or the outcomes and one
    /// feature's distribution (a series of that feature's PSI, JS, KS or data quality).
    public enum MergeScope: Sendable, Equatable {
        case all, outcomes
        case feature(String)
    }

    public mutating func merge(_ other: BucketAggregate, scope: MergeScope = .all) {
        predictions += other.predictions
        labeled += other.labeled
        if case .feature(let name) = scope {
            if let aggregate = other.numeric[name] { numeric[name, default: NumericAggregate()].merge(aggregate) }
            if let counts = other.categorical[name] { categorical[name, default: CategoryCounts()].merge(counts) }
        }
        if scope == .all {
            for (name, aggregate) in other.numeric { numeric[name, default: NumericAggregate()].merge(aggregate) }
            for (name, counts) in other.categorical { categorical[name, default: CategoryCounts()].merge(counts) }
            outputClasses.merge(other.outputClasses)
            outputNumeric.merge(other.outputNumeric)
            confidence.merge(other.confidence)
            calibration.merge(other.calibration)
        }
        confusion.merge(other.confusion)
        if expected.count == 0 { calibrationGeneration = other.calibrationGeneration }
        expected.merge(other.expected)
        regression.merge(other.regression)
        for (spec, byGroup) in other.groups {
            for (group, counters) in byGroup {
                // The same cap as folding: a merge of many buckets holds at most `maxGroups` groups.
                if groups[spec]?[group] == nil, (groups[spec]?.count ?? 0) >= FoldContext.maxGroups {
                    overflow += counters.predictions
                    continue
                }
                groups[spec, default: [:]][group, default: GroupCounters()].merge(counters)
            }
        }
        for (spec, byGroup) in other.groupMetrics {
            for (group, metrics) in byGroup where groupMetrics[spec]?[group] != nil || groups[spec]?[group] != nil {
                groupMetrics[spec, default: [:]][group, default: GroupMetrics()].merge(metrics)
            }
        }
        for (name, m) in other.predictionMetrics { predictionMetrics[name, default: MetricAggregate()].merge(m) }
        for (name, m) in other.labelMetrics { labelMetrics[name, default: MetricAggregate()].merge(m) }
        overflow += other.overflow
    }
}
