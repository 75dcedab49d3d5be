/// Binary outcome counts of one group (a segment value), for fairness.
///
/// `predictions` and `selected` count every prediction; the confusion counts only labelled ones.
/// Mergeable exactly. Memory: 48 bytes.
public struct GroupCounters: Sendable, Equatable {
    public var predictions = 0
    /// Predictions of the positive class.
    public var selected = 0
    public var truePositives = 0
    public var falsePositives = 0
    public var falseNegatives = 0
    public var trueNegatives = 0

    public init() {}

    /// Counts one prediction, before or without its label.
    public mutating func addPrediction(positive: Bool) {
        predictions += 1
        if positive { selected += 1 }
    }

    /// Counts one labelled outcome.
    public mutating func addOutcome(predictedPositive: Bool, actualPositive: Bool) {
        switch (predictedPositive, actualPositive) {
        case (true, true): truePositives += 1
        case (true, false): falsePositives += 1
        case (false, true): falseNegatives += 1
        case (false, false): trueNegatives += 1
        }
    }

    /// Takes back one `addOutcome` (a replaced label); a count never goes below zero.
    public mutating func removeOutcome(predictedPositive: Bool, actualPositive: Bool) {
        switch (predictedPositive, actualPositive) {
        case (true, true): truePositives = Swift.max(0, truePositives - 1)
        case (true, false): falsePositives = Swift.max(0, falsePositives - 1)
        case (false, true): falseNegatives = Swift.max(0, falseNegatives - 1)
        case (false, false): trueNegatives = Swift.max(0, trueNegatives - 1)
        }
    }

    public mutating func merge(_ other: GroupCounters) {
        predictions += other.predictions
        selected += other.selected
        truePositives += other.truePositives
        falsePositives += other.falsePositives
        falseNegatives += other.falseNegatives
        trueNegatives += other.trueNegatives
    }

    public var labelled: Int { truePositives + falsePositives + falseNegatives + trueNegatives }

    /// Share of predictions that are positive (Fairlearn's `selection_rate`); `nil` when empty.
    public var selectionRate: Double? { predictions > 0 ? Double(selected) / Double(predictions) : nil }

    /// TP/(TP+FN); 0 when the group has no actual positives, as Fairlearn's
    /// `true_positive_rate` (scikit-learn's normalised confusion matrix turns 0/0 into 0).
    /// `nil` when nothing is labelled.
    public var truePositiveRate: Double? {
        guard labelled > 0 else { return nil }
        let positives = truePositives + falseNegatives
        return positives == 0 ? 0 : Double(truePositives) / Double(positives)
    }

    /// FP/(FP+TN); 0 without actual negatives (Fairlearn's `false_positive_rate`); `nil` when nothing is labelled.
    public var falsePositiveRate: Double? {
        guard labelled > 0 else { return nil }
        let negatives = falsePositives + trueNegatives
        return negatives == 0 ? 0 : Double(falsePositives) / Double(negatives)
    }

    /// TP/(TP+FP); 0 without predicted positives (scikit-learn's `zero_division` default); `nil` when nothing is labelled.
    public var precision: Double? {
        guard labelled > 0 else { return nil }
        let predicted = truePositives + falsePositives
        return predicted == 0 ? 0 : Double(truePositives) / Double(predicted)
    }

    /// (TP+TN)/labelled; `nil` when nothing is labelled.
    public var accuracy: Double? {
        labelled > 0 ? Double(truePositives + trueNegatives) / Double(labelled) : nil
    }
}

/// Group fairness gaps as Fairlearn defines them (`method="between_groups"`, `agg="worst_case"`).
public struct FairnessGaps: Sendable, Equatable {
    /// max − min selection rate (`demographic_parity_difference`).
    public var demographicParityDifference: Double?
    /// min / max selection rate (`demographic_parity_ratio`); 0 when the max is 0, as Fairlearn.
    public var demographicParityRatio: Double?
    /// max − min TPR (`equal_opportunity_difference`).
    public var equalOpportunityDifference: Double?
    /// The larger of the TPR and FPR gaps (`equalized_odds_difference`).
    public var equalizedOddsDifference: Double?

    /// Gaps across groups; each is `nil` unless at least one group defines its rate. Groups whose
    /// rate is undefined (nothing predicted / nothing labelled) are left out of that gap.
    public init(groups: some Collection<GroupCounters>) {
        func spread(_ values: [Double]) -> (Double, Double)? {
            guard let low = values.min(), let high = values.max() else { return nil }
            return (low, high)
        }
        if let (low, high) = spread(groups.compactMap(\.selectionRate)) {
            demographicParityDifference = high - low
            demographicParityRatio = high == 0 ? 0 : low / high
        }
        let tpr = spread(groups.compactMap(\.truePositiveRate)).map { $0.1 - $0.0 }
        let fpr = spread(groups.compactMap(\.falsePositiveRate)).map { $0.1 - $0.0 }
        equalOpportunityDifference = tpr
        if let tpr, let fpr { equalizedOddsDifference = Swift.max(tpr, fpr) }
    }
}

extension GroupCounters {
    /// Six varints.
    public func encoded() -> [UInt8] {
        var w = BinaryWriter(capacity: 16)
        for v in [predictions, selected, truePositives, falsePositives, falseNegatives, trueNegatives] {
            w.write(count: v)
        }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) -> GroupCounters? {
        var r = BinaryReader(bytes)
        var values: [Int] = []
        for _ in 0..<6 {
            guard let v = r.readVarint(), v <= UInt64(Int.max / 2) else { return nil }
            values.append(Int(v))
        }
        guard r.isAtEnd else { return nil }
        var g = GroupCounters()
        (g.predictions, g.selected, g.truePositives) = (values[0], values[1], values[2])
        (g.falsePositives, g.falseNegatives, g.trueNegatives) = (values[3], values[4], values[5])
        return g
    }
}
