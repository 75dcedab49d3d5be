/// One side of a comparison: `version:NAME`, `variant:NAME`, or both (`version:v2,variant:canary`).
public struct ComparisonSide: Sendable, Hashable, CustomStringConvertible {
    public var version: String?
    public var variant: String?

    public init(version: String? = nil, variant: String? = nil) {
        self.version = version
        self.variant = variant
    }

    /// Parses a side; `nil` with the reason when it is malformed.
    public static func parse(_ text: String) -> Result<ComparisonSide, SideError> {
        var side = ComparisonSide()
        guard !text.isEmpty else { return .failure(SideError("a side must be version:NAME or variant:NAME")) }
        // By Unicode scalars, not characters: a combining mark or an emoji modifier after ':'
        // or ',' would otherwise merge with it into one character.
        for part in text.unicodeScalars.split(separator: ",", omittingEmptySubsequences: false) {
            guard let colon = part.firstIndex(of: ":") else {
                return .failure(SideError("'\(String(part))' must be version:NAME or variant:NAME"))
            }
            let key = String(part[..<colon])
            let scalars = part[part.index(after: colon)...]
            guard !scalars.isEmpty, scalars.count <= 1024,
                !scalars.contains(where: { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) })
            else { return .failure(SideError("'\(key)' needs a name of 1 to 1024 printable characters")) }
            let value = String(String.UnicodeScalarView(scalars))
            switch key {
            case "version" where side.version == nil: side.version = value
            case "variant" where side.variant == nil: side.variant = value
            case "version", "variant": return .failure(SideError("'\(key)' is given twice"))
            default: return .failure(SideError("'\(key)' is not version or variant"))
            }
        }
        return .success(side)
    }

    /// The selector of this side's series of `model`.
    public func selector(model: String) -> SeriesSelector {
        SeriesSelector(model: model, version: version, variant: variant)
    }

    /// Whether this side is a shadow (stored beside the live predictions, paired by id).
    public var isShadow: Bool { variant == SeriesKey.shadow }

    /// The text form, as parsed.
    public var description: String {
        [version.map { "version:\($0)" }, variant.map { "variant:\($0)" }].compactMap { $0 }.joined(separator: ",")
    }
}

/// Why a side did not parse.
public struct SideError: Error, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}
