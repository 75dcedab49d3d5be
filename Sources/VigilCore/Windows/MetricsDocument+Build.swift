import VigilStats

extension MetricsDocument {
    /// Most features a document reports (in first-seen order); the rest are left out of drift
    /// and data quality, which bounds `/metrics` cardinality.
    public static let maxFeatures = 200
    /// Most new categories listed per feature.
    public static let maxNewCategories = 20

    /// Builds the document of a merged window.
    public static func build(
        _ w: BucketAggregate, selector: SeriesSelector, window: String, span: (from: Int64, to: Int64),
        context: FoldContext, schema: ModelSchema?, config: ModelConfig
    ) -> MetricsDocument {
        var r = MetricsDocument(
            model: selector.model, version: selector.version, variant: selector.variant, window: window,
            from: span.from, to: span.to, task: context.task, predictions: w.predictions, labeled: w.labeled)
        r.labelCoverage = w.predictions > 0 ? Double(w.labeled) / Double(w.predictions) : nil
        let featureNames = Array(
            (schema?.featureOrder ?? (Array(w.numeric.keys) + Array(w.categorical.keys)).sorted()).prefix(maxFeatures))
        if let reference = context.reference {
            r.reference = ReferenceSummary(
                source: reference.source.rawValue, rows: reference.rows, labeled: reference.labeled,
                createdAt: reference.createdAt)
            r.addDrift(w, reference: reference, features: featureNames, schema: schema, config: config)
        }
        r.addQuality(w, context: context)
        r.addFairness(w, context: context)
        for name in featureNames {
            let present = (w.numeric[name]?.moments.count ?? 0) + (w.categorical[name]?.total ?? 0)
            r.missingRatio.append(
                (name, w.predictions > 0 ? Double(w.predictions - present) / Double(w.predictions) : nil))
        }
        for name in context.ranges.keys.sorted() {
            let n = w.numeric[name]
            r.outOfRangeRatio.append(
                (name, (n?.moments.count ?? 0) > 0 ? Double(n!.outOfRange) / Double(n!.moments.count) : nil))
        }
        r.metrics = w.predictionMetrics.keys.sorted().map { ($0, summary(w.predictionMetrics[$0]!)) }
        r.labelMetrics = w.labelMetrics.keys.sorted().map { ($0, summary(w.labelMetrics[$0]!)) }
        return r
    }

    static func summary(_ m: MetricAggregate) -> MetricSummary {
        var s = summary(m.moments)
        (s.p50, s.p95, s.p99) = (m.sketch.quantile(0.5), m.sketch.quantile(0.95), m.sketch.quantile(0.99))
        return s
    }

    /// Count, mean and sum from moments (a group's metrics have no quantiles).
    static func summary(_ m: Moments) -> MetricSummary {
        MetricSummary(
            count: m.count, mean: m.meanValue, sum: m.count > 0 ? m.mean * Double(m.count) : nil, p50: nil, p95: nil,
            p99: nil)
    }

    // MARK: - Drift

    private mutating func addDrift(
        _ w: BucketAggregate, reference: ReferenceProfile, features: [String], schema: ModelSchema?,
        config: ModelConfig
    ) {
        let generation = reference.generation
        for name in features {
            let type = schema?.features[name]?.type ?? (reference.numeric[name] != nil ? .numeric : .categorical)
            let drift: ColumnDrift?
            switch type {
            case .numeric:
                drift = reference.numeric[name].flatMap { ref in
                    w.numeric[name].flatMap { Self.numericDrift(ref, $0, generation: generation) }
                }
            case .categorical:
                drift = reference.categorical[name].flatMap { ref in
                    w.categorical[name].flatMap { Self.categoricalDrift(ref, $0) }
                }
            }
            if let drift { self.features.append((name, drift)) }
        }
        // Benjamini–Hochberg across the model's features, then both conditions of DESIGN §4.
        let tested = self.features.indices.filter { self.features[$0].drift.pValue != nil }
        let adjusted = HypothesisTests.benjaminiHochberg(tested.map { self.features[$0].drift.pValue! })
        for (i, q) in zip(tested, adjusted) {
            if self.features[i].drift.type == .numeric {
                self.features[i].drift.ks?.pValueAdjusted = q
            } else {
                self.features[i].drift.chi2?.pValueAdjusted = q
            }
            self.features[i].drift.drifted = Self.isDrifted(self.features[i].drift, adjusted: q, config: config)
        }
        let decided = self.features.compactMap(\.drift.drifted)
        driftedShare = decided.isEmpty ? nil : Double(decided.filter { $0 }.count) / Double(decided.count)
        if let ref = reference.outputNumeric, task == .regression {
            predictionDrift = Self.numericDrift(ref, w.outputNumeric, generation: generation)
        } else if let ref = reference.outputClasses {
            predictionDrift = Self.categoricalDrift(ref, w.outputClasses)
        }
        if let ref = reference.confidence {
            confidenceDrift = Self.numericDrift(ref, w.confidence, generation: generation)
        }
        for keyPath in [\MetricsDocument.predictionDrift, \MetricsDocument.confidenceDrift] {
            if let d = self[keyPath: keyPath], let p = d.pValue {
                self[keyPath: keyPath]!.drifted = Self.isDrifted(d, adjusted: p, config: config)
            }
        }
    }

    static func isDrifted(_ d: ColumnDrift, adjusted: Double, config: ModelConfig) -> Bool {
        adjusted < config.driftAlpha && ((d.psi ?? 0) >= config.driftPSI || (d.jsDistance ?? 0) >= config.driftJS)
    }

    /// PSI and JS over the reference's decile bins (exact counts when the window was binned under
    /// this reference, else from the sketch's CDF); KS and Wasserstein exact while both sides hold
    /// every value, else over the reference's fine bins with their bounds (FineBinDrift), else —
    /// a window folded before this reference's bins existed — from sketches with theirs.
    static func numericDrift(_ ref: NumericReference, _ cur: NumericAggregate, generation: Int64) -> ColumnDrift? {
        let n = cur.moments.count
        guard n > 0 else { return nil }
        let counts = cur.binCounts(generation: generation) ?? sketchCounts(cur.sketch, edges: ref.edges)
        var d = ColumnDrift(type: .numeric, count: n)
        d.bins = DriftBins(edges: ref.edges, reference: ref.counts, current: counts)
        d.psi = DriftStatistics.psi(reference: ref.counts, current: counts)
        d.jsDistance = DriftStatistics.jensenShannonDistance(reference: ref.counts, current: counts)
        let exact = cur.sketch.retained == cur.sketch.count
        if let values = ref.values, exact {
            let current = cur.sketch.weightedItems().map(\.value)
            if let ks = KolmogorovSmirnov.test(values, current) {
                d.ks = TestStatistic(statistic: ks.statistic, pValue: ks.pValue)
            }
            d.wasserstein = DriftStatistics.wasserstein(values, current)
        } else if let layout = ref.fine, let fine = cur.fineCounts(generation: generation),
            let r = FineBinDrift.compare(layout, fine)
        {
            d.ks = TestStatistic(
                statistic: r.ks.value, pValue: r.pValue, bound: r.ks.bound, pValueInterval: r.pValueRange)
            d.wasserstein = r.wasserstein.value
            d.wassersteinBound = r.wasserstein.bound
        } else {
            // The reference side is exact whenever it kept its values; only the window's sketch errs.
            let ks =
                ref.values.map { SketchDrift.ksTest(sorted: $0, cur.sketch) }
                ?? SketchDrift.ksTest(ref.sketch, cur.sketch)
            if let ks {
                d.ks = TestStatistic(
                    statistic: ks.statistic.value, pValue: ks.pValueRange.upperBound, bound: ks.statistic.bound,
                    pValueInterval: ks.pValueRange)
            }
            let wasserstein =
                ref.values.map { SketchDrift.wasserstein(sorted: $0, cur.sketch) }
                ?? SketchDrift.wasserstein(ref.sketch, cur.sketch)
            if let wd = wasserstein {
                d.wasserstein = wd.value
                d.wassersteinBound = wd.bound
            }
        }
        return d
    }

    /// Bin counts estimated from a sketch: n·(F̂(eᵢ) − F̂(eᵢ₋₁)), rounded so they sum to n.
    static func sketchCounts(_ sketch: QuantileSketch, edges: [Double]) -> [Int] {
        var counts: [Int] = []
        var previous = 0
        for e in edges {
            let cumulative = Int((sketch.cdf(e)! * Double(sketch.count)).rounded())
            counts.append(cumulative - previous)
            previous = cumulative
        }
        counts.append(sketch.count - previous)
        return counts
    }

    /// Per reference category, unseen ones pooled into one more bin (DESIGN §4); χ² over the
    /// 2×k table without columns empty on both sides, as `scipy.stats.chi2_contingency`.
    static func categoricalDrift(_ ref: CategoryCounts, _ cur: CategoryCounts) -> ColumnDrift? {
        let n = cur.total
        guard n > 0, ref.total > 0 else { return nil }
        let categories = ref.counts.keys.sorted()
        var refBins = categories.map { ref.counts[$0]! }
        var curBins = categories.map { cur.counts[$0] ?? 0 }
        refBins.append(ref.other)
        curBins.append(n - curBins.reduce(0, +))
        var d = ColumnDrift(type: .categorical, count: n)
        d.bins = DriftBins(labels: categories + ["(other)"], reference: refBins, current: curBins)
        d.psi = DriftStatistics.psi(reference: refBins, current: curBins)
        d.jsDistance = DriftStatistics.jensenShannonDistance(reference: refBins, current: curBins)
        let columns = refBins.indices.filter { refBins[$0] + curBins[$0] > 0 }
        if columns.count >= 2,
            let chi2 = DriftStatistics.chiSquareContingency([columns.map { refBins[$0] }, columns.map { curBins[$0] }])
        {
            d.chi2 = TestStatistic(statistic: chi2.statistic, pValue: chi2.pValue)
        }
        d.newCategories = Array(
            cur.counts.filter { ref.counts[$0.key] == nil }.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
                .prefix(maxNewCategories).map(\.key))
        return d
    }

    // MARK: - Quality

    private mutating func addQuality(_ w: BucketAggregate, context: FoldContext) {
        switch context.task {
        case .regression:
            guard w.regression.count > 0 else { return }
            quality = QualityReport(
                mae: w.regression.meanAbsoluteError, rmse: w.regression.rootMeanSquaredError, r2: w.regression.r2)
        case .generative:
            return
        case .binary, .multiclass:
            if let report = w.confusion.report() {
                var q = QualityReport(accuracy: report.accuracy)
                let dense = w.confusion.dense()
                q.confusionLabels = dense.classes
                q.confusionMatrix = dense.matrix
                q.perClass = dense.classes.map { c in
                    let s = report.perClass[c]!
                    return (c, ClassQuality(precision: s.precision, recall: s.recall, f1: s.f1, support: s.support))
                }
                let correct = dense.classes.reduce(0) { $0 + w.confusion.count(truth: $1, predicted: $1) }
                if let positive = context.positiveClass {
                    let s = w.confusion.scores(of: positive)
                    (q.precision, q.recall, q.f1) = (s.precision, s.recall, s.f1)
                    let tp = w.confusion.count(truth: positive, predicted: positive)
                    let predictedPositive = dense.classes.reduce(0) {
                        $0 + w.confusion.count(truth: $1, predicted: positive)
                    }
                    if let i = HypothesisTests.wilson(successes: tp, trials: predictedPositive) {
                        q.intervals.append(("precision", i))
                    }
                    if let i = HypothesisTests.wilson(successes: tp, trials: s.support) {
                        q.intervals.append(("recall", i))
                    }
                } else {
                    (q.precision, q.recall, q.f1) = (report.macro.precision, report.macro.recall, report.macro.f1)
                }
                if let i = HypothesisTests.wilson(successes: correct, trials: w.confusion.total) {
                    q.intervals.append(("accuracy", i))
                }
                quality = q
            }
            if context.positiveClass != nil, w.expected.count > 0 {
                estimated = EstimatedQuality(
                    precision: w.expected.precision, recall: w.expected.recall, f1: w.expected.f1,
                    accuracy: w.expected.accuracy, calibrated: context.reference?.calibrator != nil)
            }
            ece = w.calibration.expectedCalibrationError
            brier = w.calibration.brierScore
            let c = w.calibration
            let width = 1.0 / Double(CalibrationBins.binCount)
            reliability = (0..<CalibrationBins.binCount).compactMap { b in
                guard c.counts[b] > 0 else { return nil }
                let n = Double(c.counts[b])
                return ReliabilityBin(
                    lower: Double(b) * width, upper: Double(b + 1) * width, count: c.counts[b],
                    meanProbability: c.probabilitySums[b] / n, observedRate: Double(c.outcomeSums[b]) / n)
            }
        }
    }

    // MARK: - Fairness

    private mutating func addFairness(_ w: BucketAggregate, context: FoldContext) {
        for spec in context.segments {
            guard let byGroup = w.groups[spec.name], !byGroup.isEmpty else { continue }
            let groups = byGroup.keys.sorted().map { name -> (name: String, report: GroupReport) in
                let g = byGroup[name]!
                var report = GroupReport(
                    count: g.predictions, labeled: g.labelled, selectionRate: g.selectionRate,
                    tpr: g.truePositiveRate, fpr: g.falsePositiveRate, precision: g.precision, accuracy: g.accuracy)
                report.counters = g
                if let metrics = w.groupMetrics[spec.name]?[name] {
                    report.metrics = metrics.prediction.mapValues(Self.summary)
                    report.labelMetrics = metrics.label.mapValues(Self.summary)
                }
                return (name, report)
            }
            fairness.append(
                (spec.name, SegmentReport(groups: groups, gaps: FairnessGaps(groups: Array(byGroup.values)))))
        }
    }
}
