/// A YAML document as the config parser sees it: scalars, mappings and sequences, each with the
/// line and column it starts at, so every validation error can point at its place.
public struct ConfigNode: Sendable {
    public indirect enum Kind: Sendable {
        /// A scalar's text; `quoted` when it was written in quotes (so `"123"` stays a string).
        case scalar(String, quoted: Bool)
        case mapping([(key: ConfigNode, value: ConfigNode)])
        case sequence([ConfigNode])
    }

    public var kind: Kind
    /// 1-based line.
    public var line: Int
    /// 1-based column.
    public var column: Int

    public init(_ kind: Kind, line: Int, column: Int) {
        self.kind = kind
        self.line = line
        self.column = column
    }

    /// Whether this is YAML's null (`~`, `null`, or nothing), unquoted.
    public var isNull: Bool {
        if case .scalar(let text, quoted: false) = kind { return ["", "~", "null", "Null", "NULL"].contains(text) }
        return false
    }
}

/// One problem in a configuration file, with its place.
public struct ConfigIssue: Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "\(line):\(column): \(message)" }
}

/// Thrown when a configuration has problems; carries all of them, in file order.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var issues: [ConfigIssue]
    public init(issues: [ConfigIssue]) { self.issues = issues }
    public var description: String { issues.map(\.description).joined(separator: "\n") }
}
