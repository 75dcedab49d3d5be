import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import VigilCore
import Yams

@testable import VigilServer

@Suite struct OpenAPITests {
    /// (method, path) pairs the served document declares.
    func documentedOperations(_ yaml: String) throws -> Set<String> {
        let document = try #require(try Yams.load(yaml: yaml) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: Any])
        var operations = Set<String>()
        for (path, item) in paths {
            let methods = try #require(item as? [String: Any])
            for method in methods.keys where ["get", "post", "put", "delete", "patch"].contains(method) {
                operations.insert("\(method.uppercased()) \(path)")
            }
        }
        return operations
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedPathIsRouted() async throws {
        try await withApp { client in
            let (status, _, yaml) = try await client.send(.get, "/openapi.yaml")
            #expect(status == .ok)
            let documented = try documentedOperations(yaml)
            let routed = Set(APIRoute.allCases.map { "\($0.method.rawValue) \($0.path)" })
            #expect(documented == routed)
            // And the router really answers each documented operation (not with "no route").
            // A model for the {model} routes to find.
            try await client.send(.post, "/v1/predictions", #"[{"id": "p", "model": "probe", "prediction": "a"}]"#)
            for operation in documented {
                let parts = operation.split(separator: " ")
                let method = HTTPRequest.Method(String(parts[0]))!
                let path = parts[1].replacingOccurrences(of: "{model}", with: "probe")
                let (code, body, _) = try await client.send(method, path, method == .post ? "[]" : nil)
                #expect(code != .notFound, "\(operation) is not routed")
                #expect(body?["error"]?.stringValue?.hasPrefix("no route") != true)
            }
        }
    }

    /// The limits, reason codes and patterns written out in `openapi.yaml` are the server's own:
    /// a change to a constant without the document (or the other way round) fails here, and
    /// Schemathesis (`FuzzTests`) checks the document against the running server.
    @Test func theDocumentStatesTheServersOwnLimitsAndPatterns() throws {
        let document = try #require(try Yams.load(yaml: OpenAPIDocument.yaml) as? [String: Any])
        let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
        func schema(_ name: String) throws -> [String: Any] { try #require(schemas[name] as? [String: Any], "\(name)") }
        #expect(try schema("ID")["maxLength"] as? Int == EventValidator.maxIDLength)
        #expect(try schema("PredictionList")["maxItems"] as? Int == ServerConfig().maxItemsPerRequest)
        #expect(try schema("LabelList")["maxItems"] as? Int == ServerConfig().maxItemsPerRequest)
        #expect(try schema("ReferenceList")["maxItems"] as? Int == ReferenceProfile.maxRows)
        let reasons = try #require(
            (try schema("ItemError")["properties"] as? [String: Any]).flatMap { ($0["reason"] as? [String: Any])?["enum"] as? [String] })
        #expect(reasons == RejectReason.allCases.map(\.rawValue))

        // Every length and member bound in the document is one of the validator's.
        let bounds = Self.values(forKeys: ["maxLength", "maxProperties"], in: schemas).compactMap { $0 as? Int }
        let validator = [
            EventValidator.maxIDLength, EventValidator.maxNameLength, EventValidator.maxOutputLength,
            EventValidator.maxMembers,
        ]
        #expect(!bounds.isEmpty && Set(bounds).isSubset(of: validator), "\(Set(bounds)) ⊄ \(validator)")
        #expect(Set(bounds).isSuperset(of: validator), "a validator bound is missing from the document")

        // The timestamp patterns, built here from their parts, are the document's.
        let patterns = Set(Self.values(forKeys: ["pattern"], in: document).compactMap { $0 as? String })
        #expect(patterns.contains("^\(Self.dateTimePattern())$"))
        #expect(patterns.contains("^(\(Self.dateTimePattern(separators: "Tt"))|\(Self.unixSecondsPattern))$"))
        #expect(patterns.contains(Self.windowPattern))
    }

    /// The document's window pattern admits exactly the widths a default configuration serves.
    @Test func theWindowPatternIsTheServedWidths() throws {
        let pattern = try NSRegularExpression(pattern: Self.windowPattern)
        func matches(_ text: String) -> Bool {
            pattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
        }
        for minutes in 1...1440 { #expect(matches("\(minutes)m"), "\(minutes)m") }
        for hours in 1...24 { #expect(matches("\(hours)h"), "\(hours)h") }
        #expect(matches("1d"))
        for refused in ["0m", "1441m", "25h", "0h", "2d", "01h", "1h30m", "m", ""] {
            #expect(!matches(refused), "\(refused)")
        }
    }

    /// Every value under any of `keys`, anywhere in a parsed YAML tree.
    static func values(forKeys keys: Set<String>, in node: Any) -> [Any] {
        if let map = node as? [String: Any] {
            return map.flatMap { key, value in (keys.contains(key) ? [value] : []) + values(forKeys: keys, in: value) }
        }
        if let list = node as? [Any] { return list.flatMap { values(forKeys: keys, in: $0) } }
        return []
    }

    // MARK: - Patterns, from their parts

    /// Years whose every instant is inside 1970…9999 whatever the UTC offset.
    static let innerYear = "(197[1-9]|19[89][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
    /// Month and day; 29 February is left out (valid only in leap years, which a pattern cannot tell).
    static let monthDay =
        "((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))"
    static let offset = "([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"

    /// RFC 3339 as `Timestamp.parseRFC3339` reads it, within 1970-01-01 and 9999-12-31 (the first
    /// and last year only in UTC). A query value leaves out the space, which forms encode as `+`.
    static func dateTimePattern(separators: String = "Tt ") -> String {
        let time = "[\(separators)]([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)([.][0-9]+)?"
        return "(\(innerYear)-\(monthDay)\(time)\(offset)|(1970|9999)-\(monthDay)\(time)[Zz])"
    }

    /// Unix seconds as a query value: up to 253402300799 (9999-12-31T23:59:59Z), digit by digit.
    static let unixSecondsPattern =
        "([0-9]{1,11}([.][0-9]+)?|(0[0-9]{11}|1[0-9]{11}|2[0-4][0-9]{10}|25[0-2][0-9]{9}|253[0-3][0-9]{8}"
        + "|25340[01][0-9]{6}|253402[0-2][0-9]{5}|253402300[0-6][0-9]{2}|2534023007[0-8][0-9]|25340230079[0-9])"
        + "([.][0-9]{1,3})?)"

    /// A window width every default configuration serves from memory: 1 minute to 24 hours.
    static let windowPattern = "^(([1-9][0-9]{0,2}|1[0-3][0-9]{2}|14[0-3][0-9]|1440)m|([1-9]|1[0-9]|2[0-4])h|1d)$"

    @Test func documentIsOpenAPI3() throws {
        let document = try #require(try Yams.load(yaml: OpenAPIDocument.yaml) as? [String: Any])
        #expect((document["openapi"] as? String)?.hasPrefix("3.") == true)
        #expect(document["components"] != nil)
    }
}
