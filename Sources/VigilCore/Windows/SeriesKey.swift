/// The series a prediction's aggregates belong to: one model, version and variant (DESIGN §1).
public struct SeriesKey: Sendable, Hashable, Comparable {
    public var model: String
    public var version: String
    /// `""` when the prediction named no variant.
    public var variant: String

    public init(model: String, version: String, variant: String?) {
        self.model = model
        self.version = version
        self.variant = variant ?? ""
    }

    /// The variant of shadow predictions: stored beside the live prediction of the same id and
    /// left out of the live model's windows and totals (DESIGN §5).
    public static let shadow = "shadow"

    /// Whether this series holds shadow predictions.
    public var isShadow: Bool { variant == Self.shadow }

    public static func < (a: SeriesKey, b: SeriesKey) -> Bool {
        (a.model, a.version, a.variant) < (b.model, b.version, b.variant)
    }
}

/// Which series a window merges: a model's every live series, narrowed by version and/or
/// variant. Shadow series are merged only when the selector names the `shadow` variant.
public struct SeriesSelector: Sendable, Hashable {
    public var model: String
    public var version: String?
    public var variant: String?

    public init(model: String, version: String? = nil, variant: String? = nil) {
        self.model = model
        self.version = version
        self.variant = variant
    }

    public func matches(_ key: SeriesKey) -> Bool {
        key.model == model && (version.map { $0 == key.version } ?? true)
            && (variant.map { $0 == key.variant } ?? !key.isShadow)
    }
}

/// A segment specification: one attribute (`region`) or an intersection (`region×gender`),
/// whose groups are the attribute values joined the same way (`eu×f`).
public struct SegmentSpec: Sendable, Hashable {
    public static let separator = "×"
    public var attributes: [String]

    public init(_ attributes: [String]) { self.attributes = attributes }

    /// The name the document and `/metrics` use: the attributes joined by `×`, each with `\` and
    /// `×` escaped, so `["a×b", "c"]` and `["a", "b×c"]` cannot share a name.
    public var name: String { Self.join(attributes) }

    /// Joins parts with `×`, escaping `\` and `×` inside a part when there are several parts.
    static func join(_ parts: [String]) -> String {
        guard parts.count > 1 else { return parts.first ?? "" }
        return parts.map { part in
            guard part.contains("\\") || part.contains(separator) else { return part }
            var escaped = ""
            for character in part {
                if character == "\\" || String(character) == separator { escaped.append("\\") }
                escaped.append(character)
            }
            return escaped
        }.joined(separator: separator)
    }

    /// The prediction's group, or `nil` when it lacks one of the attributes.
    public func group(of segments: [(name: String, value: String)]) -> String? {
        if attributes.count == 1 {
            return segments.first(where: { $0.name == attributes[0] })?.value
        }
        var parts: [String] = []
        for attribute in attributes {
            guard let value = segments.first(where: { $0.name == attribute })?.value else { return nil }
            parts.append(value)
        }
        return Self.join(parts)
    }
}
