import VigilStats

extension NumericReference {
    func encode(into w: inout BinaryWriter, format: UInt8 = ReferenceProfile.formatVersion) {
        w.write(count: edges.count)
        for e in edges { w.write(double: e) }
        for c in counts { w.write(count: c) }
        if let values {
            w.write(byte: 1)
            w.write(count: values.count)
            for v in values { w.write(double: v) }
        } else {
            w.write(byte: 0)
        }
        w.write(blob: sketch.encoded())
        if format >= 2 { w.write(blob: fine?.encoded() ?? []) }
    }

    /// Format 1 profiles have no fine bins; they are rebuilt from the values when kept.
    static func decode(from r: inout BinaryReader, version: UInt8) -> NumericReference? {
        guard let n = r.readVarint(), n <= 16 else { return nil }
        var edges: [Double] = []
        var counts: [Int] = []
        for _ in 0..<n {
            guard let e = r.readDouble() else { return nil }
            edges.append(e)
        }
        for _ in 0...n {
            guard let c = r.readVarint(), c <= UInt64(Int.max / 2) else { return nil }
            counts.append(Int(c))
        }
        var values: [Double]?
        guard let flag = r.readByte() else { return nil }
        if flag == 1 {
            guard let count = r.readVarint(), count <= UInt64(ReferenceProfile.maxValues) else { return nil }
            var v: [Double] = []
            v.reserveCapacity(Int(count))
            for _ in 0..<count {
                guard let x = r.readDouble() else { return nil }
                v.append(x)
            }
            values = v
        }
        guard let sketch = r.readBlob().flatMap(QuantileSketch.decode) else { return nil }
        var fine: FineBinLayout?
        if version >= 2 {
            guard let bytes = r.readBlob() else { return nil }
            if !bytes.isEmpty {
                guard let layout = FineBinLayout.decode(bytes) else { return nil }
                fine = layout
            }
        }
        return NumericReference(edges: edges, counts: counts, values: values, sketch: sketch, fine: fine)
    }
}

extension ReferenceProfile {
    /// 2: numeric columns carry their fine bins.
    public static let formatVersion: UInt8 = 2

    /// The profile as bytes (format 2), for the `reference_profiles` table; `format: 1` writes
    /// the previous layout, without fine bins, for compatibility tests.
    public func encoded(format: UInt8 = formatVersion) -> [UInt8] {
        var w = BinaryWriter(capacity: 65_536)
        w.write(byte: format)
        w.write(int: generation)
        w.write(string: source.rawValue)
        w.write(int: createdAt)
        w.write(count: rows)
        w.write(count: labeled)
        w.write(int: from ?? Int64.min)
        w.write(int: to ?? Int64.min)
        w.write(count: numeric.count)
        for name in numeric.keys.sorted() {
            w.write(string: name)
            numeric[name]!.encode(into: &w, format: format)
        }
        w.write(count: categorical.count)
        for name in categorical.keys.sorted() {
            w.write(string: name)
            w.write(blob: categorical[name]!.encoded())
        }
        w.write(blob: outputClasses?.encoded() ?? [])
        Self.write(optional: outputNumeric, &w, format: format)
        Self.write(optional: confidence, &w, format: format)
        w.write(blob: calibrator?.encoded() ?? [])
        return w.bytes
    }

    private static func write(optional reference: NumericReference?, _ w: inout BinaryWriter, format: UInt8) {
        if let reference {
            w.write(byte: 1)
            reference.encode(into: &w, format: format)
        } else {
            w.write(byte: 0)
        }
    }

    private static func readOptional(_ r: inout BinaryReader, version: UInt8) -> NumericReference?? {
        switch r.readByte() {
        case 0: return .some(nil)
        case 1: return NumericReference.decode(from: &r, version: version).map { .some($0) }
        default: return nil
        }
    }

    /// Decodes `encoded()` (formats 1 and 2); `nil` when malformed.
    public static func decode(_ bytes: [UInt8]) -> ReferenceProfile? {
        var r = BinaryReader(bytes)
        guard let version = r.readByte(), version == 1 || version == formatVersion, let generation = r.readInt(),
            let source = r.readString().flatMap(Source.init(rawValue:)), let createdAt = r.readInt(),
            let rows = r.readVarint(), let labeled = r.readVarint(), rows <= UInt64(Int.max / 2),
            labeled <= UInt64(Int.max / 2), let from = r.readInt(), let to = r.readInt(),
            let numericCount = r.readVarint(), numericCount <= 100_000
        else { return nil }
        var p = ReferenceProfile(
            generation: generation, source: source, createdAt: createdAt, rows: Int(rows), labeled: Int(labeled))
        p.from = from == Int64.min ? nil : from
        p.to = to == Int64.min ? nil : to
        for _ in 0..<numericCount {
            guard let name = r.readString(), let n = NumericReference.decode(from: &r, version: version) else { return nil }
            p.numeric[name] = n
        }
        guard let categoricalCount = r.readVarint(), categoricalCount <= 100_000 else { return nil }
        for _ in 0..<categoricalCount {
            guard let name = r.readString(), let c = r.readBlob().flatMap(CategoryCounts.decode) else { return nil }
            p.categorical[name] = c
        }
        guard let classes = r.readBlob() else { return nil }
        if !classes.isEmpty {
            guard let c = CategoryCounts.decode(classes) else { return nil }
            p.outputClasses = c
        }
        guard let outputNumeric = readOptional(&r, version: version), let confidence = readOptional(&r, version: version), let calibrator = r.readBlob()
        else { return nil }
        p.outputNumeric = outputNumeric
        p.confidence = confidence
        if !calibrator.isEmpty {
            guard let c = IsotonicCalibrator.decode(calibrator) else { return nil }
            p.calibrator = c
        }
        return r.isAtEnd ? p : nil
    }
}
