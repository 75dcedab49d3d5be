import Foundation
import VigilCore
import Yams

/// Reads a YAML configuration file through Yams into `ConfigNode`s (keeping every node's line
/// and column) and validates it with `ConfigParser`.
public enum ConfigLoader {
    /// Loads `path`; throws `ConfigError` with every issue, YAML syntax errors included.
    public static func load(path: String) throws -> VigilConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(issues: [
                ConfigIssue(line: 0, column: 0, message: "cannot read \(path): \(error.localizedDescription)")
            ])
        }
        return try parse(yaml: text)
    }

    /// Parses YAML text.
    public static func parse(yaml text: String) throws -> VigilConfig {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigError(issues: [issue(from: error)])
        }
        return try ConfigParser.parse(node.map(convert))
    }

    static func convert(_ node: Node) -> ConfigNode {
        let line = node.mark?.line ?? 0
        let column = node.mark?.column ?? 0
        switch node {
        case .scalar(let scalar):
            return ConfigNode(
                .scalar(scalar.string, quoted: scalar.style != .plain && scalar.style != .any),
                line: line, column: column)
        case .mapping(let mapping):
            return ConfigNode(
                .mapping(mapping.map { (convert($0.key), convert($0.value)) }), line: line, column: column)
        case .sequence(let sequence):
            return ConfigNode(.sequence(sequence.map(convert)), line: line, column: column)
        case .alias:
            return ConfigNode(.scalar("", quoted: false), line: line, column: column)
        }
    }

    /// A Yams syntax error as an issue with its place.
    static func issue(from error: YamlError) -> ConfigIssue {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _):
            let text = [context?.description, problem].compactMap { $0 }.joined(separator: ": ")
            return ConfigIssue(line: mark.line, column: mark.column, message: "YAML syntax: \(text)")
        case .composer(let context, let problem, let mark, _):
            let text = [context?.description, problem].compactMap { $0 }.joined(separator: ": ")
            return ConfigIssue(line: mark.line, column: mark.column, message: "YAML: \(text)")
        default:
            return ConfigIssue(line: 0, column: 0, message: "YAML: \(error)")
        }
    }
}
