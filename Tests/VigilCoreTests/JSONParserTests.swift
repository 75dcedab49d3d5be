import Testing

@testable import VigilCore

@Suite struct JSONParserTests {
    @Test func parsesEveryValueKind() throws {
        let value = try JSONParser.parse(#" {"a": [1, -2.5, 3e2, true, false, null, "x"], "b": {}} "#)
        let object = try #require(value.objectValue)
        #expect(
            object["a"]
                == .array([.number(1), .number(-2.5), .number(300), .bool(true), .bool(false), .null, .string("x")]))
        #expect(object["b"] == .object(JSONObject()))
    }

    @Test func keysComeBackExactlyAsSent() throws {
        let keys = ["ä b.c", "x.y", " spaced ", "日本語", "emoji 🚀", "dup"]
        let text = "{" + keys.enumerated().map { "\"\($1)\": \($0)" }.joined(separator: ",") + "}"
        let object = try #require(try JSONParser.parse(text).objectValue)
        #expect(object.members.map(\.key) == keys)
    }

    @Test func duplicateKeysResolveToTheLastOccurrence() throws {
        let object = try #require(try JSONParser.parse(#"{"a": 1, "b": 2, "a": 3}"#).objectValue)
        #expect(object["a"] == .number(3))
        #expect(object.uniqueMembers.map(\.key) == ["a", "b"])
        #expect(object.uniqueMembers.first?.value == .number(3))
    }

    @Test(arguments: [
        (#""\u00e9\n\t\"\\\/""#, "é\n\t\"\\/"),
        (#""\ud83d\ude80""#, "🚀"),
        (#""plain""#, "plain"),
    ])
    func decodesEscapes(_ input: String, _ expected: String) throws {
        #expect(try JSONParser.parse(input) == .string(expected))
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "1e", "tru", "\"abc", "\"\\x\"", "\"\\ud800\"", "\"\u{01}\"",
        "[1] 2", "{\"a\":1,}", "NaN", "Infinity",
    ])
    func rejectsMalformedInput(_ input: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(input) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xFF, 0xFE, 0x22]) }
    }

    @Test func limitsNestingDepth() throws {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        _ = try JSONParser.parse(fine)
    }

    /// The fast path must agree bit for bit with the standard library's correctly rounded parse.
    @Test func numbersMatchTheStandardLibrary() throws {
        var generator = SystemRandomNumberGenerator()
        var texts = [
            "0", "-0", "1e22", "1e23", "123456789012345678901234", "0.1", "0.30000000000000004",
            "2.2250738585072014e-308", "1.7976931348623157e308", "5e-324", "9007199254740993",
            "1e400", "-1e-400", "0.000001", "123.456e-7", "1E+2",
        ]
        for _ in 0..<2000 {
            let mantissa = Int64.random(in: -999_999_999_999_999...999_999_999_999_999, using: &generator)
            let exponent = Int.random(in: -30...30, using: &generator)
            texts.append("\(mantissa)e\(exponent)")
            texts.append("\(Double.random(in: -1e6...1e6, using: &generator))")
        }
        for text in texts {
            let parsed = try JSONParser.parse(text)
            #expect(parsed == .number(Double(text)!), "\(text)")
        }
    }
}
