import VigilStats

// Binary forms of the bucket aggregates, for the `buckets` table. Each part is the VigilStats
// encoding of its aggregate, length-prefixed; decoding refuses truncated or corrupt input.

extension NumericAggregate {
    func encode(into w: inout BinaryWriter, format: UInt8 = BucketAggregate.formatVersion) {
        w.write(blob: moments.encoded())
        w.write(blob: sketch.encoded())
        w.write(blob: histogram?.encoded() ?? [])
        w.write(int: generation)
        w.write(count: binned)
        w.write(count: outOfRange)
        guard format >= 2 else { return }
        if let fine {
            w.write(byte: 1)
            fine.encode(into: &w)
        } else {
            w.write(byte: 0)
        }
    }

    /// Format 1 buckets have no fine counts.
    static func decode(from r: inout BinaryReader, version: UInt8) -> NumericAggregate? {
        guard let m = r.readBlob().flatMap(Moments.decode), let s = r.readBlob().flatMap(QuantileSketch.decode),
            let h = r.readBlob(), let generation = r.readInt(), let binned = r.readVarint(),
            let outOfRange = r.readVarint(), binned <= UInt64(Int.max / 2), outOfRange <= UInt64(Int.max / 2)
        else { return nil }
        var a = NumericAggregate()
        a.moments = m
        a.sketch = s
        if !h.isEmpty {
            guard let histogram = BinnedHistogram.decode(h) else { return nil }
            a.histogram = histogram
        }
        a.generation = generation
        a.binned = Int(binned)
        a.outOfRange = Int(outOfRange)
        if version >= 2 {
            switch r.readByte() {
            case 0: break
            case 1:
                guard let fine = FineCounts.decode(from: &r) else { return nil }
                a.fine = fine
            default: return nil
            }
        }
        return a
    }
}

extension MetricAggregate {
    func encode(into w: inout BinaryWriter) {
        w.write(blob: moments.encoded())
        w.write(blob: sketch.encoded())
    }

    static func decode(from r: inout BinaryReader) -> MetricAggregate? {
        guard let m = r.readBlob().flatMap(Moments.decode), let s = r.readBlob().flatMap(QuantileSketch.decode) else {
            return nil
        }
        var a = MetricAggregate()
        a.moments = m
        a.sketch = s
        return a
    }
}

extension BucketAggregate {
    /// 2: numeric aggregates carry fine counts. 3: custom metrics per segment group.
    public static let formatVersion: UInt8 = 3

    /// The bucket as bytes (format 3; `format: 1` or `2` write the previous layouts, without
    /// fine counts or without per-group metrics, for compatibility tests).
    public func encoded(format: UInt8 = formatVersion) -> [UInt8] {
        var w = BinaryWriter(capacity: 4096)
        w.write(byte: format)
        w.write(count: predictions)
        w.write(count: labeled)
        w.write(count: overflow)
        Self.write(numeric, &w) { $0.encode(into: &$1, format: format) }
        Self.write(categorical, &w) { $1.write(blob: $0.encoded()) }
        w.write(blob: outputClasses.encoded())
        outputNumeric.encode(into: &w, format: format)
        confidence.encode(into: &w, format: format)
        w.write(blob: confusion.encoded())
        w.write(blob: expected.encoded())
        w.write(int: calibrationGeneration)
        w.write(blob: calibration.encoded())
        w.write(count: regression.count)
        w.write(double: regression.absoluteErrorSum)
        w.write(double: regression.squaredErrorSum)
        w.write(blob: regression.truth.encoded())
        Self.write(groups, &w) { byGroup, w in Self.write(byGroup, &w) { $1.write(blob: $0.encoded()) } }
        Self.write(predictionMetrics, &w) { $0.encode(into: &$1) }
        Self.write(labelMetrics, &w) { $0.encode(into: &$1) }
        guard format >= 3 else { return w.bytes }
        Self.write(groupMetrics, &w) { byGroup, w in
            Self.write(byGroup, &w) { metrics, w in
                Self.write(metrics.prediction, &w) { $1.write(blob: $0.encoded()) }
                Self.write(metrics.label, &w) { $1.write(blob: $0.encoded()) }
            }
        }
        return w.bytes
    }

    /// Decodes `encoded()` (formats 1 to 3); `nil` when the bytes are not a bucket of a known
    /// format.
    public static func decode(_ bytes: [UInt8]) -> BucketAggregate? {
        var r = BinaryReader(bytes)
        guard let version = r.readByte(), (1...formatVersion).contains(version), let predictions = r.readVarint(), let labeled = r.readVarint(),
            let overflow = r.readVarint(), predictions <= UInt64(Int.max / 2), labeled <= UInt64(Int.max / 2),
            overflow <= UInt64(Int.max / 2)
        else { return nil }
        var b = BucketAggregate()
        b.predictions = Int(predictions)
        b.labeled = Int(labeled)
        b.overflow = Int(overflow)
        guard let numeric = read(&r, { NumericAggregate.decode(from: &$0, version: version) }),
            let categorical = read(&r, { $0.readBlob().flatMap(CategoryCounts.decode) }),
            let outputClasses = r.readBlob().flatMap(CategoryCounts.decode),
            let outputNumeric = NumericAggregate.decode(from: &r, version: version),
            let confidence = NumericAggregate.decode(from: &r, version: version),
            let confusion = r.readBlob().flatMap(ConfusionMatrix.decode),
            let expected = r.readBlob().flatMap(ExpectedConfusion.decode), let generation = r.readInt(),
            let calibration = r.readBlob().flatMap(CalibrationBins.decode), let regressionCount = r.readVarint(),
            regressionCount <= UInt64(Int.max / 2), let absolute = r.readDouble(), let squared = r.readDouble(),
            let truth = r.readBlob().flatMap(Moments.decode),
            let groups = read(&r, { r in read(&r, { $0.readBlob().flatMap(GroupCounters.decode) }) }),
            let predictionMetrics = read(&r, MetricAggregate.decode),
            let labelMetrics = read(&r, MetricAggregate.decode)
        else { return nil }
        if version >= 3 {
            let moments = { (r: inout BinaryReader) in r.readBlob().flatMap(Moments.decode) }
            guard
                let groupMetrics = read(&r, { r in
                    read(&r, { r -> GroupMetrics? in
                        guard let prediction = read(&r, moments), let label = read(&r, moments) else { return nil }
                        var m = GroupMetrics()
                        m.prediction = prediction
                        m.label = label
                        return m
                    })
                })
            else { return nil }
            b.groupMetrics = groupMetrics
        }
        guard r.isAtEnd else { return nil }
        b.numeric = numeric
        b.categorical = categorical
        b.outputClasses = outputClasses
        b.outputNumeric = outputNumeric
        b.confidence = confidence
        b.confusion = confusion
        b.expected = expected
        b.calibrationGeneration = generation
        b.calibration = calibration
        b.regression.count = Int(regressionCount)
        b.regression.absoluteErrorSum = absolute
        b.regression.squaredErrorSum = squared
        b.regression.truth = truth
        b.groups = groups
        b.predictionMetrics = predictionMetrics
        b.labelMetrics = labelMetrics
        return b
    }

    private static func write<V>(
        _ map: [String: V], _ w: inout BinaryWriter, _ element: (V, inout BinaryWriter) -> Void
    ) {
        w.write(count: map.count)
        for key in map.keys.sorted() {
            w.write(string: key)
            element(map[key]!, &w)
        }
    }

    private static func read<V>(_ r: inout BinaryReader, _ element: (inout BinaryReader) -> V?) -> [String: V]? {
        guard let n = r.readVarint(), n <= 1_000_000 else { return nil }
        var map: [String: V] = [:]
        for _ in 0..<n {
            guard let key = r.readString(), let value = element(&r) else { return nil }
            map[key] = value
        }
        return map
    }
}
