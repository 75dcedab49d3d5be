import Testing
import VigilStats

@testable import VigilCore

/// Custom metrics per segment group (issue 12, "generative models complete"): prediction and
/// label `metrics` folded per configured group, taken back with a replaced label, stored in
/// bucket format 3, shown in the document and `/metrics`, compared per group; and `sum`.
@Suite struct GroupMetricsTests {
    static let t0: Int64 = 1_795_600_800_000
    static let context = FoldContext(task: .generative, segments: [SegmentSpec(["region"])])
    static let folding = LabelFolding(task: .generative, positiveClass: nil)
    static let config: ModelConfig = {
        var c = ModelConfig()
        c.task = .generative
        c.segments = [["region"]]
        return c
    }()

    static func prediction(_ id: String, region: String, latency: Double, cost: Double = 0.002) -> Prediction {
        Prediction(
            id: id, model: "chat", timestamp: t0, output: .text("an answer"), segments: [("region", region)],
            metrics: [("latency_ms", latency), ("cost_usd", cost)])
    }

    static func label(_ id: String, hallucination: Double) -> Label {
        Label(id: id, model: "chat", value: nil, metrics: [("hallucination", hallucination)])
    }

    /// `n` predictions per region with labels; latam hallucinates at `latamRate`, eu at `euRate`.
    static func bucket(n: Int, euRate: Double, latamRate: Double, seed: UInt64) -> BucketAggregate {
        var random = SplitMix64(state: seed)
        var w = BucketAggregate()
        for i in 0..<n {
            for (region, rate) in [("eu", euRate), ("latam", latamRate)] {
                let p = prediction("\(region)-\(i)", region: region, latency: 100 + Double(i % 50))
                w.fold(p, context: context)
                let h: Double = Double.random(in: 0..<1, using: &random) < rate ? 1 : 0
                w.fold(label: label(p.id, hallucination: h), folding: folding, of: p, replacing: nil, context: context)
            }
        }
        return w
    }

    static func document(_ w: BucketAggregate) -> MetricsDocument {
        MetricsDocument.build(
            w, selector: SeriesSelector(model: "chat"), window: "1h", span: (t0, t0 + 3_600_000), context: context,
            schema: nil, config: config)
    }

    @Test func metricsAreFoldedPerGroupAndTakenBack() throws {
        var w = BucketAggregate()
        let a = Self.prediction("a", region: "eu", latency: 100, cost: 0.5)
        let b = Self.prediction("b", region: "eu", latency: 300, cost: 0.25)
        let c = Self.prediction("c", region: "latam", latency: 50, cost: 1)
        for p in [a, b, c] { w.fold(p, context: Self.context) }
        w.fold(label: Self.label("a", hallucination: 1), folding: Self.folding, of: a, replacing: nil, context: Self.context)
        w.fold(label: Self.label("c", hallucination: 1), folding: Self.folding, of: c, replacing: nil, context: Self.context)
        // A corrected label replaces its metric in the group, as in the window.
        w.fold(
            label: Self.label("c", hallucination: 0), folding: Self.folding, of: c,
            replacing: (Self.label("c", hallucination: 1), Self.folding), context: Self.context)
        let eu = try #require(w.groupMetrics["region"]?["eu"])
        #expect(eu.prediction["latency_ms"]?.count == 2 && eu.prediction["latency_ms"]?.mean == 200)
        #expect(eu.label["hallucination"]?.mean == 1)
        let latam = try #require(w.groupMetrics["region"]?["latam"])
        #expect(latam.label["hallucination"]?.count == 1 && latam.label["hallucination"]?.mean == 0)

        let document = Self.document(w)
        let json = document.json()
        let group = json["fairness"]?["region"]?["groups"]?["eu"]
        #expect(group?["metrics"]?["cost_usd"]?["sum"]?.numberValue == 0.75)
        #expect(group?["metrics"]?["latency_ms"]?["mean"]?.numberValue == 200)
        #expect(group?["label_metrics"]?["hallucination"]?["count"]?.numberValue == 1)
        // `sum` for the whole window too: a daily cost budget is the sum over 24h.
        #expect(abs((json["metrics"]?["cost_usd"]?["sum"]?.numberValue ?? 0) - 1.75) < 1e-12)
        let samples = document.samples()
        let euCost = samples.first {
            $0.family == "vigil_segment_metric_value" && $0.labels.contains { $0 == ("group", "eu") }
                && $0.labels.contains { $0 == ("metric", "cost_usd") } && $0.labels.contains { $0 == ("stat", "sum") }
        }
        #expect(euCost?.value == 0.75)
        #expect(
            samples.contains {
                $0.family == "vigil_metric_value" && abs($0.value - 1.75) < 1e-12
                    && $0.labels.contains { $0 == ("stat", "sum") }
            })
    }

    @Test func bucketFormatThreeRoundTripsAndOlderFormatsStillDecode() throws {
        let w = Self.bucket(n: 30, euRate: 0.1, latamRate: 0.3, seed: 1)
        #expect(!w.groupMetrics.isEmpty)
        #expect(BucketAggregate.decode(w.encoded()) == w)
        let old = try #require(BucketAggregate.decode(w.encoded(format: 2)))
        #expect(old.groupMetrics.isEmpty)
        var expected = w
        expected.groupMetrics = [:]
        #expect(old == expected)
        // Merging keeps per-group metrics exact (moments merge exactly up to rounding).
        var merged = Self.bucket(n: 10, euRate: 0.1, latamRate: 0.3, seed: 2)
        merged.merge(Self.bucket(n: 20, euRate: 0.1, latamRate: 0.3, seed: 3))
        #expect(merged.groupMetrics["region"]?["eu"]?.prediction["latency_ms"]?.count == 30)
    }

    /// Learned segments carry no per-group metrics; names past the cap count in `overflow`.
    @Test func groupMetricsAreBounded() {
        var learned = Self.context
        learned.learnedSegments = true
        var w = BucketAggregate()
        w.fold(Self.prediction("a", region: "eu", latency: 1), context: learned)
        #expect(w.groupMetrics.isEmpty && w.groups["region"]?["eu"]?.predictions == 1)

        var capped = BucketAggregate()
        let many = (0..<(GroupMetrics.maxNames + 4)).map { (name: "m\($0)", value: 1.0) }
        let p = Prediction(
            id: "x", model: "chat", timestamp: Self.t0, output: .text("x"), segments: [("region", "eu")], metrics: many)
        capped.fold(p, context: Self.context)
        #expect(capped.groupMetrics["region"]?["eu"]?.prediction.count == GroupMetrics.maxNames)
        #expect(capped.overflow == 4)
        #expect(capped.predictionMetrics.count == GroupMetrics.maxNames + 4)
    }

    /// A candidate that hallucinates more in one region only: the overall guardrail holds, the
    /// group's entry is worse, so the candidate is not promoted, and the reason names the group.
    @Test func aCandidateWorseForOneGroupIsNotPromoted() throws {
        let baseline = Self.bucket(n: 4_000, euRate: 0.05, latamRate: 0.05, seed: 4)
        let candidate = Self.bucket(n: 4_000, euRate: 0.02, latamRate: 0.09, seed: 5)
        var release = ReleaseConfig()
        release.guardrails = [
            ReleaseMetricConfig(metric: "label_metric_mean", name: "hallucination", direction: .lowerIsBetter, margin: 0.02)
        ]
        let document = ComparisonDocument.build(
            model: "chat", window: "1h", span: (Self.t0, Self.t0 + 3_600_000),
            baseline: (ComparisonSide(variant: "control"), baseline), candidate: (ComparisonSide(variant: "canary"), candidate),
            task: .generative, positiveClass: nil, release: release)
        let overall = try #require(document.metrics.first { $0.id.metricName == "hallucination" && !$0.id.isSegment })
        #expect(overall.guardrail && overall.worse == false)
        let latam = try #require(document.metrics.first { $0.id.metricName == "hallucination" && $0.id.group == "latam" })
        #expect(!latam.guardrail && latam.worse == true && latam.direction == .lowerIsBetter && latam.limit == nil)
        #expect(document.verdict == .inconclusive)
        #expect(
            document.reason.hasPrefix(
                #"metric_value{metric="hallucination",source="label",stat="mean",segment="region",group="latam"} is worse"#),
            "\(document.reason)")
        // The same per-group data with both regions as good: promoted.
        let fine = Self.bucket(n: 4_000, euRate: 0.03, latamRate: 0.03, seed: 6)
        let promoted = ComparisonDocument.build(
            model: "chat", window: "1h", span: (Self.t0, Self.t0 + 3_600_000),
            baseline: (ComparisonSide(variant: "control"), baseline), candidate: (ComparisonSide(variant: "canary"), fine),
            task: .generative, positiveClass: nil, release: release)
        #expect(promoted.verdict == .promote, "\(promoted.reason)")
    }
}

extension JSONValue {
    fileprivate subscript(key: String) -> JSONValue? { objectValue?[key] }
}
