import Foundation
import Testing

@testable import VigilCore

/// The window machinery without HTTP or storage: folding into buckets, the bucket codec,
/// merging partial buckets (in any grouping, order and partition), building the metrics
/// document and the reference.
@Suite struct WindowMachineryTests {
    static let t0: Int64 = 1_795_600_800_000
    static let config: ModelConfig = {
        var c = ModelConfig()
        c.positiveClass = "fraud"
        c.segments = [["region"]]
        return c
    }()
    static let context = FoldContext(task: .binary, positiveClass: "fraud", segments: [SegmentSpec(["region"])])

    /// A deterministic stream (SplitMix64-style generator): binary predictions with a numeric
    /// and a categorical feature, a segment, a metric, and a label for most of them.
    struct Stream {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }

        mutating func events(_ n: Int, shift: Double = 0) -> [(Prediction, Label?)] {
            (0..<n).map { i in
                let p = uniform()
                let prediction = Prediction(
                    id: "e\(i)", model: "m", timestamp: WindowMachineryTests.t0 + Int64(i) * 1_000,
                    features: [
                        ("amount", .number((uniform() * 100).rounded() + shift)),
                        ("channel", .category(["web", "app", "pos"][Int(next() % 3)])),
                    ],
                    output: .text(p > 0.5 ? "fraud" : "ok"), confidence: p,
                    segments: [("region", next() % 2 == 0 ? "eu" : "us")],
                    metrics: [("latency_ms", (uniform() * 200).rounded())])
                let truth = uniform() < p ? "fraud" : "ok"
                let label = next() % 5 == 0 ? nil : Label(id: "e\(i)", model: "m", value: .text(truth))
                return (prediction, label)
            }
        }
    }

    static func fold(_ events: some Sequence<(Prediction, Label?)>) -> BucketAggregate {
        var bucket = BucketAggregate()
        let folding = LabelFolding(task: .binary, positiveClass: "fraud")
        for (p, label) in events {
            bucket.fold(p, context: context)
            if let label { bucket.fold(label: label, folding: folding, of: p, replacing: nil, context: context) }
        }
        return bucket
    }

    static func document(_ bucket: BucketAggregate, reference: ReferenceProfile? = nil) -> JSONValue {
        var context = Self.context
        context.reference = reference
        return MetricsDocument.build(
            bucket, selector: SeriesSelector(model: "m"), window: "1h", span: (t0, t0 + 3_600_000),
            context: context, schema: nil, config: config
        ).json()
    }

    /// Documents equal up to float rounding (merge order changes the last bits of sums), and
    /// sketch quantiles (`p50`, `p95`, `p99`) within the KLL sketch's rank error: merge order
    /// changes which items a compaction keeps, so they agree to ε ≈ 1.65% of the ranks — on
    /// this stream's uniform 0–200 latencies, 2% of 200 in value.
    static func same(_ a: JSONValue, _ b: JSONValue, _ path: String = "$") -> Bool {
        switch (a, b) {
        case (.number(let x), .number(let y)):
            let quantile = ["p50", "p95", "p99"].contains(where: { path.hasSuffix(".\($0)") })
            let ok = abs(x - y) <= (quantile ? 4 : 1e-9 * max(1, abs(x), abs(y)))
            if !ok { Issue.record("\(path): \(x) != \(y)") }
            return ok
        case (.array(let x), .array(let y)):
            guard x.count == y.count else {
                Issue.record("\(path): \(x.count) items != \(y.count)")
                return false
            }
            return zip(x, y).enumerated().allSatisfy { same($1.0, $1.1, "\(path)[\($0)]") }
        case (.object(let x), .object(let y)):
            guard x.members.map(\.key) == y.members.map(\.key) else {
                Issue.record("\(path): keys \(x.members.map(\.key)) != \(y.members.map(\.key))")
                return false
            }
            return zip(x.members, y.members).allSatisfy { same($0.value, $1.value, "\(path).\($0.key)") }
        default:
            if a != b { Issue.record("\(path): \(a) != \(b)") }
            return a == b
        }
    }

    // MARK: - Fold and codec

    @Test(arguments: [1, 50, 400]) func aFoldedBucketSurvivesItsCodec(count: Int) throws {
        var stream = Stream(state: UInt64(count))
        let bucket = Self.fold(stream.events(count))
        #expect(bucket.predictions == count)
        let decoded = try #require(BucketAggregate.decode(bucket.encoded()))
        #expect(decoded == bucket)
        #expect(decoded.encoded() == bucket.encoded())
        // A truncated or corrupted blob does not decode into something else.
        #expect(BucketAggregate.decode(Array(bucket.encoded().dropLast(3))) == nil)
    }

    // MARK: - Merging

    /// Merging is associative and commutative: (a·b)·c, a·(b·c) and c·b·a give one document.
    @Test(arguments: 0..<12) func mergeIsAssociativeAndCommutative(seed: Int) {
        var stream = Stream(state: UInt64(seed) &* 7919)
        let events = stream.events(300)
        let cut1 = 30 + seed * 7
        let cut2 = 150 + seed * 5
        let a = Self.fold(events[..<cut1])
        let b = Self.fold(events[cut1..<cut2])
        let c = Self.fold(events[cut2...])
        var ab = a
        ab.merge(b)
        var abc = ab
        abc.merge(c)
        var bc = b
        bc.merge(c)
        var a_bc = a
        a_bc.merge(bc)
        var cba = c
        cba.merge(b)
        cba.merge(a)
        #expect(abc.predictions == 300)
        #expect(Self.same(Self.document(abc), Self.document(a_bc)))
        #expect(Self.same(Self.document(abc), Self.document(cba)))
        var ba = b
        ba.merge(a)
        #expect(Self.same(Self.document(ab), Self.document(ba)))
    }

    /// Any partition of a stream into partial buckets (several writers, or minutes rolled into
    /// an hour) merges to the document of the whole stream folded into one bucket.
    @Test(arguments: 0..<12) func anyPartitionMergesToTheWholeStreamsDocument(seed: Int) {
        var stream = Stream(state: 0xC0FFEE &+ UInt64(seed))
        let events = stream.events(250)
        let whole = Self.fold(events)
        let parts = 1 + Int(stream.next() % 6)
        var partials = Array(repeating: [(Prediction, Label?)](), count: parts)
        for event in events { partials[Int(stream.next() % UInt64(parts))].append(event) }
        var merged = BucketAggregate()
        for partial in partials.shuffled(using: &stream) { merged.merge(Self.fold(partial)) }
        #expect(merged.predictions == whole.predictions)
        #expect(merged.labeled == whole.labeled)
        #expect(Self.same(Self.document(merged), Self.document(whole)))
    }

    // MARK: - Documents and references

    /// The document's counts and quality follow from the events by hand: TP, FP, FN, TN.
    @Test func theDocumentCountsWhatWasFolded() throws {
        let cases: [(String, String, Double)] = [("fraud", "fraud", 0.9), ("fraud", "ok", 0.8), ("ok", "fraud", 0.3), ("ok", "ok", 0.1)]
        let events = cases.enumerated().map { i, c in
            (
                Prediction(id: "\(i)", model: "m", timestamp: Self.t0, output: .text(c.0), confidence: c.2),
                Label(id: "\(i)", model: "m", value: .text(c.1)) as Label?
            )
        }
        let doc = Self.document(Self.fold(events + [(Prediction(id: "u", model: "m", timestamp: Self.t0, output: .text("ok"), confidence: 0.2), nil)]))
        #expect(doc["counts"]?["predictions"] == .number(5))
        #expect(doc["counts"]?["labeled"] == .number(4))
        #expect(doc["counts"]?["label_coverage"] == .number(0.8))
        #expect(doc["quality"]?["accuracy"] == .number(0.5))
        #expect(doc["quality"]?["precision"] == .number(0.5))
        #expect(doc["quality"]?["recall"] == .number(0.5))
    }

    /// A reference built from rows: the same distribution does not drift, a shifted one does.
    @Test func aReferenceBuiltFromRowsTellsDriftFromNoDrift() throws {
        var stream = Stream(state: 42)
        let rows = stream.events(2_000).map { ($0.0, $0.1?.value) }
        let reference = ReferenceProfile.build(
            rows: rows, context: Self.context, source: .upload, generation: 1, at: Self.t0)
        #expect(reference.rows == 2_000)
        #expect(reference.labeled == rows.filter { $0.1 != nil }.count)
        let decoded = try #require(ReferenceProfile.decode(reference.encoded()))
        #expect(decoded.encoded() == reference.encoded())
        let same = Self.document(Self.fold(stream.events(2_000)), reference: reference)
        let shifted = Self.document(Self.fold(stream.events(2_000, shift: 40)), reference: reference)
        #expect(same["drift"]?["features"]?["amount"]?["drifted"] == .bool(false))
        #expect(shifted["drift"]?["features"]?["amount"]?["drifted"] == .bool(true))
        #expect(shifted["drift"]?["features"]?["channel"]?["drifted"] == .bool(false))
    }

    // MARK: - Live buckets

    /// Rolled-up minute buckets stay superseded for reads until the flush that deletes them is
    /// written; the hour bucket in memory then holds their events.
    @Test func rolledMinutesAreSupersededUntilTheirDeletionIsWritten() {
        let live = LiveBuckets(longestWindow: 3_600_000, makeContext: { _ in Self.context })
        live.restore([], watermark: FoldWatermark(), at: Self.t0)
        var stream = Stream(state: 9)
        let events = stream.events(3).enumerated().map { i, e -> CommittedEvent in
            var p = e.0
            p.timestamp = Self.t0 + Int64(i) * 60_000
            return .prediction(p, rowID: Int64(i + 1))
        }
        live.fold(events)
        _ = live.takeFlush()
        live.maintain(at: Self.t0 + 4 * 3_600_000)
        let batch = live.takeFlush()
        #expect(batch.deletes.count == 3)
        #expect(batch.watermark == FoldWatermark(predictions: 3, labels: 0))
        let during = live.parts(SeriesSelector(model: "m"), from: Self.t0 - 3_600_000, to: Self.t0 + 3_600_000)
        #expect(Set(batch.deletes).isSubset(of: during.superseded))
        #expect(during.parts.map(\.id.resolution) == [.hour])
        #expect(during.parts.first?.bucket.predictions == 3)
        live.flushed(batch)
        let after = live.parts(SeriesSelector(model: "m"), from: Self.t0 - 3_600_000, to: Self.t0 + 3_600_000)
        #expect(Set(batch.deletes).isDisjoint(with: after.superseded))
    }

    /// Shadow series are left out of the live selectors and chosen only by name.
    @Test func shadowSeriesAreSelectedOnlyByName() {
        let shadow = SeriesKey(model: "m", version: "v1", variant: "shadow")
        let canary = SeriesKey(model: "m", version: "v1", variant: "canary")
        #expect(!SeriesSelector(model: "m").matches(shadow))
        #expect(!SeriesSelector(model: "m", version: "v1").matches(shadow))
        #expect(SeriesSelector(model: "m", variant: "shadow").matches(shadow))
        #expect(SeriesSelector(model: "m").matches(canary))
    }
}

extension WindowMachineryTests.Stream: RandomNumberGenerator {}

/// The gauge catalog is the one list: alert rules may name exactly its families, and the
/// dashboards' generator reads it from `tools/dashboards/families.json`.
@Suite struct GaugeCatalogTests {
    static func catalogJSON() -> String {
        let families = (WindowGauges.families + [WindowGauges.compareVerdict, WindowGauges.compareDifference, WindowGauges.alertsFiring]).map { family -> JSONValue in
            .object(
                JSONObject([
                    JSONMember(key: "name", value: .string(family.name)),
                    JSONMember(key: "help", value: .string(family.help)),
                    JSONMember(key: "labels", value: .array(family.labels.map(JSONValue.string))),
                ]))
        }
        return families.map { JSONWriter.string($0) }.joined(separator: ",\n  ")
            .wrapped(prefix: "[\n  ", suffix: "\n]\n")
    }

    /// The committed file equals the catalog; `VIGIL_WRITE_FAMILIES=1 swift test --filter
    /// GaugeCatalogTests` rewrites it after a catalog change.
    @Test func theDashboardsGeneratorReadsTheCatalog() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("tools/dashboards/families.json")
        let expected = Self.catalogJSON()
        if ProcessInfo.processInfo.environment["VIGIL_WRITE_FAMILIES"] == "1" {
            try expected.write(to: path, atomically: true, encoding: .utf8)
        }
        let committed = try String(contentsOf: path, encoding: .utf8)
        #expect(committed == expected, "tools/dashboards/families.json is stale: VIGIL_WRITE_FAMILIES=1 swift test --filter GaugeCatalogTests")
    }

    /// Rules name window families, or `compare_verdict` (comparison rules, which the parser
    /// writes for `compare:` + `verdict:`).
    @Test func everyRuleMetricIsACatalogFamily() {
        #expect(AlertMetric.known == Set(WindowGauges.families.map(\.ruleName) + [WindowGauges.compareVerdict.ruleName]))
        #expect(WindowGauges.byName.count == WindowGauges.families.count)
        for family in WindowGauges.families {
            #expect(family.name.hasPrefix("vigil_"))
            #expect(!family.help.isEmpty)
        }
    }
}

extension JSONValue {
    fileprivate subscript(key: String) -> JSONValue? { objectValue?[key] }
}

extension String {
    fileprivate func wrapped(prefix: String, suffix: String) -> String { prefix + self + suffix }
}
