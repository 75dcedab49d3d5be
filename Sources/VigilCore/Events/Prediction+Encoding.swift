import VigilStats

/// The compact binary form of the parts of a prediction that are not stored as columns
/// (features, confidence, scores, segments, metrics, output kind). Version 1 layout:
/// `u8 version, u8 output kind, features, confidence?, scores, segments, metrics`, each list a
/// varint count of `(string name, value)`.
extension Prediction {
    private static let formatVersion: UInt8 = 1

    /// Encodes the payload.
    public func encodedPayload() -> [UInt8] {
        var w = BinaryWriter(capacity: 32 + features.count * 16)
        w.write(byte: Self.formatVersion)
        switch output {
        case .text: w.write(byte: 0)
        case .number: w.write(byte: 1)
        case .bool: w.write(byte: 2)
        }
        w.write(count: features.count)
        for (name, value) in features {
            w.write(string: name)
            switch value {
            case .missing: w.write(byte: 0)
            case .number(let n):
                w.write(byte: 1)
                w.write(double: n)
            case .category(let c):
                w.write(byte: 2)
                w.write(string: c)
            }
        }
        if let confidence {
            w.write(byte: 1)
            w.write(double: confidence)
        } else {
            w.write(byte: 0)
        }
        NamedValues.write(scores, &w)
        w.write(count: segments.count)
        for (name, value) in segments {
            w.write(string: name)
            w.write(string: value)
        }
        NamedValues.write(metrics, &w)
        return w.bytes
    }

    /// Rebuilds a prediction from its columns and payload; `nil` when the payload is corrupt.
    /// Without `features` the feature list is stepped over, not built (a label's fold reads
    /// outputs, confidences, segments and metrics only); its structure is still checked.
    public static func decode(
        id: String, model: String, version: String, variant: String?, timestamp: Int64, outputText: String,
        payload: [UInt8], features: Bool = true
    ) -> Prediction? {
        var r = BinaryReader(payload)
        guard r.readByte() == formatVersion, let kind = r.readByte() else { return nil }
        let output: OutputValue
        switch kind {
        case 0: output = .text(outputText)
        case 1:
            guard let n = Double(outputText) else { return nil }
            output = .number(n)
        case 2: output = .bool(outputText == "true")
        default: return nil
        }
        var p = Prediction(
            id: id, model: model, version: version, variant: variant, timestamp: timestamp, output: output)
        guard let featureCount = r.readVarint(), featureCount <= UInt64(EventValidator.maxMembers) else { return nil }
        if !features, !skipFeatures(featureCount, &r) { return nil }
        for _ in 0..<(features ? featureCount : 0) {
            guard let name = r.readString(), let tag = r.readByte() else { return nil }
            switch tag {
            case 0: p.features.append((name, .missing))
            case 1:
                guard let n = r.readDouble() else { return nil }
                p.features.append((name, .number(n)))
            case 2:
                guard let c = r.readString() else { return nil }
                p.features.append((name, .category(c)))
            default: return nil
            }
        }
        guard let hasConfidence = r.readByte() else { return nil }
        if hasConfidence == 1 {
            guard let c = r.readDouble() else { return nil }
            p.confidence = c
        }
        guard let scores = NamedValues.read(&r), let segmentCount = r.readVarint(),
            segmentCount <= UInt64(EventValidator.maxMembers)
        else { return nil }
        p.scores = scores
        for _ in 0..<segmentCount {
            guard let name = r.readString(), let value = r.readString() else { return nil }
            p.segments.append((name, value))
        }
        guard let metrics = NamedValues.read(&r), r.isAtEnd else { return nil }
        p.metrics = metrics
        return p
    }

    private static func skipFeatures(_ count: UInt64, _ r: inout BinaryReader) -> Bool {
        for _ in 0..<count {
            guard r.skipString(), let tag = r.readByte() else { return false }
            switch tag {
            case 0: continue
            case 1: guard r.skip(8) else { return false }
            case 2: guard r.skipString() else { return false }
            default: return false
            }
        }
        return true
    }

    /// The text stored in the `prediction` column: the class key, or the number's round-trip text.
    public var outputText: String {
        switch output {
        case .number(let n): "\(n)"
        default: output.classKey
        }
    }
}

extension Label {
    /// Label metrics in the same list encoding as prediction scores and metrics.
    public func encodedMetrics() -> [UInt8] {
        var w = BinaryWriter(capacity: 8 + metrics.count * 16)
        NamedValues.write(metrics, &w)
        return w.bytes
    }

    /// Decodes what `encodedMetrics()` wrote; `nil` when corrupt.
    public static func decodeMetrics(_ bytes: [UInt8]) -> [(name: String, value: Double)]? {
        var r = BinaryReader(bytes)
        guard let list = NamedValues.read(&r), r.isAtEnd else { return nil }
        return list
    }

    /// Label value column text and kind (0 text, 1 number, 2 bool; nil when metrics only).
    public var valueColumns: (text: String?, kind: Int?) {
        switch value {
        case nil: (nil, nil)
        case .text(let s): (s, 0)
        case .number(let n): ("\(n)", 1)
        case .bool(let b): (b ? "true" : "false", 2)
        }
    }

    /// Rebuilds the label value from its columns.
    public static func value(text: String?, kind: Int?) -> OutputValue? {
        guard let text, let kind else { return nil }
        switch kind {
        case 1: return Double(text).map(OutputValue.number)
        case 2: return .bool(text == "true")
        default: return .text(text)
        }
    }
}

/// A varint count of `(string name, double value)` pairs.
enum NamedValues {
    static func write(_ list: [(name: String, value: Double)], _ w: inout BinaryWriter) {
        w.write(count: list.count)
        for (name, value) in list {
            w.write(string: name)
            w.write(double: value)
        }
    }

    static func read(_ r: inout BinaryReader) -> [(name: String, value: Double)]? {
        guard let count = r.readVarint(), count <= UInt64(EventValidator.maxMembers) else { return nil }
        var list: [(name: String, value: Double)] = []
        for _ in 0..<count {
            guard let name = r.readString(), let value = r.readDouble() else { return nil }
            list.append((name, value))
        }
        return list
    }
}
