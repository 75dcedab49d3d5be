import VigilStats

/// Shadows against the live model on the ids both predicted (DESIGN §5): how often they agree,
/// and once labels arrive, paired tests (McNemar on correctness, paired t on absolute errors and
/// on prediction metrics), which have more power than the unpaired entries.
extension ComparisonDocument {
    /// Classes of the agreement matrix at most; further classes are counted in the rate only.
    static let maxAgreementClasses = 100

    public mutating func addShadows(pairs: [ShadowPair], task: ModelTask) {
        guard !pairs.isEmpty else { return }
        if task == .binary || task == .multiclass {
            agreement = Self.agreement(pairs)
        }
        let labelled = pairs.filter { $0.label != nil }
        switch task {
        case .binary, .multiclass:
            var onlyLive = 0
            var onlyShadow = 0
            var liveCorrect = 0
            var shadowCorrect = 0
            for pair in labelled {
                let truth = pair.label!.classKey
                let l = pair.live.output.classKey == truth
                let s = pair.shadow.output.classKey == truth
                if l { liveCorrect += 1 }
                if s { shadowCorrect += 1 }
                if l && !s { onlyLive += 1 }
                if s && !l { onlyShadow += 1 }
            }
            if !labelled.isEmpty {
                let r = HypothesisTests.mcnemar(onlyFirst: onlyLive, onlySecond: onlyShadow)
                let n = Double(labelled.count)
                paired.append(
                    PairedEntry(
                        id: ComparisonMetricID("quality_accuracy"), baseline: Double(liveCorrect) / n,
                        candidate: Double(shadowCorrect) / n, test: "mcnemar", statistic: r?.statistic,
                        pValue: r?.pValue, n: labelled.count))
            }
        case .regression:
            let errors = labelled.compactMap { pair -> (Double, Double)? in
                guard let y = pair.label?.numericValue, let l = pair.live.output.numericValue,
                    let s = pair.shadow.output.numericValue
                else { return nil }
                return (abs(y - l), abs(y - s))
            }
            if let entry = Self.pairedT(ComparisonMetricID("quality_mae"), errors) { paired.append(entry) }
        case .generative:
            break
        }
        let names = Set(pairs.flatMap { $0.live.metrics.map(\.name) }).sorted()
        for name in names {
            let values = pairs.compactMap { pair -> (Double, Double)? in
                guard let l = pair.live.metrics.first(where: { $0.name == name })?.value,
                    let s = pair.shadow.metrics.first(where: { $0.name == name })?.value, l.isFinite, s.isFinite
                else { return nil }
                return (l, s)
            }
            let id = ComparisonMetricID("metric_value", metricName: name, source: "prediction", stat: "mean")
            if let entry = Self.pairedT(id, values) { paired.append(entry) }
        }
    }

    static func agreement(_ pairs: [ShadowPair]) -> ShadowAgreement {
        var agree = 0
        var counts: [String: [String: Int]] = [:]
        var classes: [String: Int] = [:]
        for pair in pairs {
            let (l, s) = (pair.live.output.classKey, pair.shadow.output.classKey)
            if l == s { agree += 1 }
            classes[l, default: 0] += 1
            classes[s, default: 0] += 1
            counts[l, default: [:]][s, default: 0] += 1
        }
        // The most frequent classes, named in order.
        let labels = classes.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(maxAgreementClasses).map(\.key)
            .sorted()
        let matrix = labels.map { l in labels.map { s in counts[l]?[s] ?? 0 } }
        return ShadowAgreement(
            rate: Double(agree) / Double(pairs.count), interval: HypothesisTests.wilson(successes: agree, trials: pairs.count),
            n: pairs.count, labels: labels, matrix: matrix)
    }

    /// Paired t on (live, shadow) values: shadow − live.
    static func pairedT(_ id: ComparisonMetricID, _ values: [(Double, Double)]) -> PairedEntry? {
        guard !values.isEmpty else { return nil }
        var live = Moments()
        var shadow = Moments()
        var difference = Moments()
        for (l, s) in values {
            live.add(l)
            shadow.add(s)
            difference.add(s - l)
        }
        let r = difference.sampleVariance.flatMap {
            HypothesisTests.pairedT(meanDifference: difference.mean, variance: $0, count: difference.count)
        }
        return PairedEntry(
            id: id, baseline: live.mean, candidate: shadow.mean, test: "paired_t", statistic: r?.statistic,
            pValue: r?.pValue, n: values.count)
    }
}
