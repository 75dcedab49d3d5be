/// Typed access to `ConfigNode`s that records an issue, with its place, for everything wrong
/// instead of stopping at the first.
struct ConfigReader {
    var issues: [ConfigIssue] = []

    mutating func fail(_ node: ConfigNode, _ message: String) {
        issues.append(ConfigIssue(line: node.line, column: node.column, message: message))
    }

    /// The members of a mapping whose keys are all in `allowed` (when given); unknown keys and
    /// duplicates are issues.
    mutating func mapping(_ node: ConfigNode, _ path: String, allowed: [String]? = nil) -> [(String, ConfigNode)] {
        guard case .mapping(let pairs) = node.kind else {
            fail(node, "\(path) must be a mapping")
            return []
        }
        var seen = Set<String>()
        var result: [(String, ConfigNode)] = []
        for (keyNode, value) in pairs {
            guard case .scalar(let key, _) = keyNode.kind else {
                fail(keyNode, "\(path): keys must be plain strings")
                continue
            }
            if let allowed, !allowed.contains(key) {
                fail(keyNode, "\(path): unknown key '\(key)' (expected one of: \(allowed.joined(separator: ", ")))")
                continue
            }
            if !seen.insert(key).inserted {
                fail(keyNode, "\(path): duplicate key '\(key)'")
                continue
            }
            result.append((key, value))
        }
        return result
    }

    mutating func sequence(_ node: ConfigNode, _ path: String) -> [ConfigNode] {
        guard case .sequence(let items) = node.kind else {
            fail(node, "\(path) must be a list")
            return []
        }
        return items
    }

    mutating func string(_ node: ConfigNode, _ path: String) -> String? {
        guard case .scalar(let text, _) = node.kind, !node.isNull else {
            fail(node, "\(path) must be a string")
            return nil
        }
        return text
    }

    mutating func int(_ node: ConfigNode, _ path: String, in range: ClosedRange<Int>) -> Int? {
        guard case .scalar(let text, quoted: false) = node.kind, let value = Int(text) else {
            fail(node, "\(path) must be an integer")
            return nil
        }
        guard range.contains(value) else {
            fail(node, "\(path) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
            return nil
        }
        return value
    }

    mutating func double(_ node: ConfigNode, _ path: String) -> Double? {
        guard case .scalar(let text, quoted: false) = node.kind, let value = Double(text), value.isFinite else {
            fail(node, "\(path) must be a finite number")
            return nil
        }
        return value
    }

    mutating func bool(_ node: ConfigNode, _ path: String) -> Bool? {
        guard case .scalar(let text, quoted: false) = node.kind else {
            fail(node, "\(path) must be true or false")
            return nil
        }
        switch text {
        case "true", "True", "TRUE", "yes": return true
        case "false", "False", "FALSE", "no": return false
        default:
            fail(node, "\(path) must be true or false")
            return nil
        }
    }

    mutating func interval(_ node: ConfigNode, _ path: String) -> TimeLength? {
        guard let text = string(node, path) else { return nil }
        guard let interval = TimeLength.parse(text) else {
            fail(node, "\(path) must be a duration such as 15s, 10m, 1h or 30d, got '\(text)'")
            return nil
        }
        return interval
    }

    mutating func oneOf<T: RawRepresentable & CaseIterable>(_ node: ConfigNode, _ path: String, _: T.Type) -> T?
    where T.RawValue == String {
        guard let text = string(node, path) else { return nil }
        guard let value = T(rawValue: text) else {
            let names = T.allCases.map(\.rawValue).joined(separator: ", ")
            fail(node, "\(path) must be one of \(names), got '\(text)'")
            return nil
        }
        return value
    }

    /// A list of strings, or a single string read as a one-element list.
    mutating func strings(_ node: ConfigNode, _ path: String) -> [String] {
        if case .scalar = node.kind { return string(node, path).map { [$0] } ?? [] }
        return sequence(node, path).enumerated().compactMap { string($1, "\(path)[\($0)]") }
    }

    mutating func stringMap(_ node: ConfigNode, _ path: String) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in mapping(node, path) {
            if let text = string(value, "\(path).\(key)") { result[key] = text }
        }
        return result
    }
}
