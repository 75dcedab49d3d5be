import Testing
import VigilStats

@testable import VigilCore

/// Issue 10, defects 3, 4 and 14 at the level of the window machinery.
@Suite struct BucketHardeningTests {
    static let t0: Int64 = 1_780_000_000_000

    static func prediction(_ id: String, output: String, p: Double, region: String = "eu") -> Prediction {
        Prediction(
            id: id, model: "m", timestamp: t0, output: .text(output), confidence: p, segments: [("region", region)])
    }

    /// A label applied with no positive class and replaced under positive class "1": the
    /// take-back mirrors what was applied (nothing binary), the new label applies fully, and
    /// the bucket equals one that only saw the final label. Fails on de6ce92's fold, which
    /// took back calibration and group counts that were never added.
    @Test func aTakeBackMirrorsTheFoldingItWasAppliedWith() {
        let context = FoldContext(task: .binary, positiveClass: "1", segments: [SegmentSpec(["region"])])
        let p = Self.prediction("a", output: "0", p: 0.7)
        let unknown = LabelFolding(task: .binary, positiveClass: nil)
        let known = LabelFolding(task: .binary, positiveClass: "1")
        var corrected = BucketAggregate()
        corrected.fold(p, context: context)
        corrected.fold(label: Label(id: "a", model: "m", value: .text("0")), folding: unknown, of: p, replacing: nil, context: context)
        corrected.fold(
            label: Label(id: "a", model: "m", value: .text("1")), folding: known, of: p,
            replacing: (Label(id: "a", model: "m", value: .text("0")), unknown), context: context)
        var direct = BucketAggregate()
        direct.fold(p, context: context)
        direct.fold(label: Label(id: "a", model: "m", value: .text("1")), folding: known, of: p, replacing: nil, context: context)
        #expect(corrected == direct)
        let group = corrected.groups["region"]?["eu"]
        #expect(group?.falseNegatives == 1 && group?.labelled == 1)
        // And the encoding round-trips (it trapped on negative counts before).
        #expect(BucketAggregate.decode(corrected.encoded()) == corrected)
    }

    /// Removals never drive a count below zero, and encoders are total on any value.
    @Test func removalsSaturateAndEncodersAreTotal() {
        var group = GroupCounters()
        group.removeOutcome(predictedPositive: true, actualPositive: true)
        #expect(group.truePositives == 0)
        var bins = CalibrationBins()
        bins.remove(probability: 0.5, positive: true)
        #expect(bins.counts.allSatisfy { $0 == 0 })
        #expect(CalibrationBins.bin(of: .nan) == 0 && CalibrationBins.bin(of: 1e300) == 9 && CalibrationBins.bin(of: -5) == 0)
        var matrix = ConfusionMatrix()
        matrix.remove(truth: "a", predicted: "b")
        #expect(matrix.total == 0)
        var bucket = BucketAggregate()
        bucket.predictions = -3  // a bug elsewhere must not trap the encoder
        #expect(BucketAggregate.decode(bucket.encoded())?.predictions == 0)
    }

    /// Every decoder refuses (never traps on) truncated, mutated and random bytes.
    @Test func decodersAreTotal() {
        var bucket = BucketAggregate()
        let context = FoldContext(task: .binary, positiveClass: "1", segments: [SegmentSpec(["region"])])
        for i in 0..<50 {
            var p = Self.prediction("p\(i)", output: i % 2 == 0 ? "1" : "0", p: Double(i) / 50)
            p.features = [("x", .number(Double(i))), ("c", .category("k\(i % 3)"))]
            p.metrics = [("latency", Double(i))]
            bucket.fold(p, context: context)
        }
        let bytes = bucket.encoded()
        var random = SplitMix64(state: 42)
        for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 200)) {
            _ = BucketAggregate.decode(Array(bytes[..<cut]))
            var mutated = bytes
            mutated[cut] ^= UInt8(truncatingIfNeeded: random.next() | 1)
            _ = BucketAggregate.decode(mutated)
        }
        for _ in 0..<2000 {
            let length = Int(random.next() % 256)
            let noise = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            _ = BucketAggregate.decode(noise)
            _ = QuantileSketch.decode(noise)
            _ = ConfusionMatrix.decode(noise)
            _ = CategoryCounts.decode(noise)
            _ = GroupCounters.decode(noise)
            _ = ReferenceProfile.decode(noise)
            _ = Prediction.decode(id: "x", model: "m", version: "v", variant: nil, timestamp: 0, outputText: "1", payload: noise)
        }
        // A sketch claiming weights that overflow is refused, not trapped on.
        var w = BinaryWriter()
        w.write(count: 200)
        w.write(count: Int.max / 2)
        w.write(double: 0)
        w.write(double: 1)
        w.write(varint: 7)
        w.write(count: 62)
        for h in 0..<62 {
            w.write(count: h == 61 ? 8 : 0)
            if h == 61 { for _ in 0..<8 { w.write(double: 0.5) } }
        }
        #expect(QuantileSketch.decode(w.bytes) == nil)
    }

    /// Intersection names cannot collide: `["a×b", "c"]` and `["a", "b×c"]` differ.
    @Test func intersectionKeysDoNotCollide() {
        let one = SegmentSpec(["r×s", "t"])
        let other = SegmentSpec(["r", "s×t"])
        #expect(one.name != other.name)
        let groupOne = SegmentSpec(["a", "b"]).group(of: [("a", "x×y"), ("b", "z")])
        let groupOther = SegmentSpec(["a", "b"]).group(of: [("a", "x"), ("b", "y×z")])
        #expect(groupOne != groupOther)
        #expect(SegmentSpec(["region", "gender"]).group(of: [("region", "eu"), ("gender", "f")]) == "eu×f")
    }

    /// A late event for an evicted bucket storage cannot read is not folded into an empty
    /// bucket (which the next flush would write over the stored history). Fails on de6ce92,
    /// where `try?` turned the failed read into "no bucket".
    @Test func anUnreadableStoredBucketIsNotOverwritten() {
        let book = LiveBuckets(
            longestWindow: 3_600_000, makeContext: { _ in FoldContext(task: .binary, positiveClass: "1") },
            load: { _ in .unavailable })
        let now = Self.t0
        book.restore([], watermark: FoldWatermark(), at: now)
        _ = book.takeFlush()
        var old = Self.prediction("late", output: "1", p: 0.9)
        old.timestamp = now - 30 * 3_600_000  // an hour long out of memory
        book.fold([.prediction(old, rowID: 1)])
        let batch = book.takeFlush()
        #expect(batch.upserts.isEmpty, "an empty bucket would overwrite the stored one")
        #expect(book.unfoldedEvents == 1)
    }
}
