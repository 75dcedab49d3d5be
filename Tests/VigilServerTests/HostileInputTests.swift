import Foundation
import Synchronization
import Testing
import VigilCore

/// Issue 10, hostile input: bodies and HTTP no client would send, on the real binary through raw
/// sockets. For each: the process stays up; the answer is a 4xx, or a 200 whose every rejected
/// item carries a `reason`; never a 5xx; no response echoes a raw input value of 100 bytes or
/// more, or names internals. Each test prints how many inputs it sent and what came back.
@Suite(.serialized) struct HostileInputTests {
    static let config = "server: {body_timeout: 1s, header_timeout: 2s}\n"

    /// What an input may be answered with.
    enum Expectation: Sendable {
        /// A 4xx.
        case clientError
        /// 200 with one rejection per item, with these reasons in index order (`nil`: any reason).
        case rejections([RejectReason?])
        /// 200 with every item accepted (a hostile but valid input).
        case accepted(Int)
        /// A 4xx, or a 200 (framing the route never reads, such as a GET's body).
        case answered
        /// As `answered`, or the connection closed without an answer.
        case answeredOrClosed
    }

    /// Counts what came back, for the summary line: requests by outcome, and the items in them.
    final class Tally: Sendable {
        private let counts = Mutex<(outcomes: [String: Int], items: Int)>(([:], 0))
        func add(_ outcome: String, items: Int) {
            counts.withLock {
                $0.outcomes[outcome, default: 0] += 1
                $0.items += items
            }
        }
        var line: String {
            counts.withLock { c in
                let total = c.outcomes.values.reduce(0, +)
                return "\(total) requests (\(c.items) inputs counting each batch item): "
                    + c.outcomes.keys.sorted().map { "\(c.outcomes[$0]!) \($0)" }.joined(separator: ", ")
            }
        }
    }

    /// The server under test and the checks every answer goes through.
    struct Target {
        let http: RawHTTP
        let vigil: VigilProcess
        let tally = Tally()

        /// Sends `request` exactly and checks the answer against `expect`.
        @discardableResult
        func send(_ name: String, _ request: [UInt8], _ expect: Expectation) async -> RawHTTP.Answer {
            let answer: RawHTTP.Answer
            do {
                answer = try await http.exchange(request)
            } catch {
                Issue.record("\(name): \(error)")
                return RawHTTP.Answer(status: -1, text: "")
            }
            let context = "\(name): \(answer.status) \(answer.text.prefix(400))"
            #expect(!(500...599).contains(answer.status), "5xx for \(context)")
            #expect(vigil.process.isRunning, "vigil died on \(name)")
            for word in ["NIO", "GRDB", "SQL", "Swift", "Fatal", "internal error"] {
                #expect(!answer.text.contains(word), "'\(word)' in the answer to \(context)")
            }
            #expect(answer.body.utf8.count < 64 * 1024, "\(name): \(answer.body.utf8.count)-byte answer")
            for needle in Self.longRuns(request) where answer.text.contains(needle) {
                Issue.record("\(name) echoes input: '\(needle.prefix(40))…' in \(answer.text.prefix(300))")
                break
            }
            let items: Int
            switch expect {
            case .rejections(let reasons): items = max(reasons.count, 1)
            case .accepted(let n): items = max(n, 1)
            default: items = 1
            }
            tally.add(check(answer, expect, context), items: items)
            return answer
        }

        /// Checks the status and the per-item reasons; returns the outcome's name.
        private func check(_ answer: RawHTTP.Answer, _ expect: Expectation, _ context: String) -> String {
            switch (answer.status, expect) {
            case (0, .answeredOrClosed): return "closed"
            case (400...499, .clientError), (400...499, .answered), (400...499, .answeredOrClosed):
                return "4xx"
            case (200, .answered), (200, .answeredOrClosed): return "200"
            case (200, .rejections(let reasons)):
                let errors = itemErrors(answer, context)
                #expect(errors.count == reasons.count, "\(context): \(errors.count) rejections, not \(reasons.count)")
                for (error, reason) in zip(errors, reasons) where reason != nil {
                    #expect(error == reason, "\(context): \(error?.rawValue ?? "no reason"), not \(reason!.rawValue)")
                }
                return "200 with rejections"
            case (200, .accepted(let n)):
                let json = try? JSONParser.parse(answer.body)
                #expect(json?["accepted"]?.int == n && itemErrors(answer, context).isEmpty, "\(context)")
                return "200 accepted"
            default:
                Issue.record("unexpected answer to \(context) (expected \(expect))")
                return "unexpected \(answer.status)"
            }
        }

        /// The `reason` of every listed item error (`nil` for one without a known reason).
        private func itemErrors(_ answer: RawHTTP.Answer, _ context: String) -> [RejectReason?] {
            guard let json = try? JSONParser.parse(answer.body) else {
                Issue.record("\(context): not JSON")
                return []
            }
            let reasons = (json["errors"]?.array ?? []).map { $0["reason"]?.stringValue.flatMap(RejectReason.init) }
            #expect(!reasons.contains(nil), "\(context): an item error without a known reason")
            #expect(json["rejected"]?.int == reasons.count + (json["errors_truncated"]?.int ?? 0), "\(context)")
            return reasons
        }

        /// Runs of 100 or more bytes of the request between JSON and HTTP delimiters, as the
        /// needles an echo would contain (their first 100 bytes; only valid UTF-8).
        static func longRuns(_ request: [UInt8]) -> [String] {
            let delimiters: Set<UInt8> = Set(Array("\"{}[],: \r\n\t/?&=".utf8))
            var needles: [String] = []
            var start = 0
            for i in 0...request.count where i == request.count || delimiters.contains(request[i]) {
                if i - start >= 100, let s = String(validating: request[start..<start + 100], as: UTF8.self) {
                    needles.append(s)
                }
                start = i + 1
            }
            return needles
        }
    }

    /// Runs `body` against a fresh binary; afterwards it must still answer `/healthz` and stop cleanly.
    static func withTarget(_ test: String, _ body: (Target) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        let configPath = directory.path("vigil.yaml")
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let vigil = try await VigilProcess.serve(
            db: directory.path("vigil.db"), logPath: directory.path("vigil.log"), extra: ["--config", configPath])
        let target = Target(http: RawHTTP(port: vigil.port), vigil: vigil)
        try await body(target)
        print("hostile inputs (\(test)): \(target.tally.line)")
        #expect(try await target.http.get("/healthz").status == 200)
        let log = (try? String(contentsOfFile: vigil.logPath, encoding: .utf8)) ?? ""
        #expect(!log.contains("unhandled error"), "vigil logged an unhandled error:\n\(log.suffix(4000))")
        #expect(await vigil.terminate() == 0)
    }

    // MARK: - Requests

    static func post(
        _ path: String, _ body: [UInt8], method: String = "POST", contentType: String = "application/json"
    ) -> [UInt8] {
        request(path, body, method: method, contentType: contentType)
    }

    static func post(_ path: String, _ body: String, method: String = "POST", contentType: String = "application/json")
        -> [UInt8]
    {
        request(path, Array(body.utf8), method: method, contentType: contentType)
    }

    static func request(_ path: String, _ body: [UInt8], method: String, contentType: String) -> [UInt8] {
        Array(
            "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
                .utf8) + body
    }

    /// A prediction item with `fields` (JSON member text) replacing or adding to the defaults.
    static func prediction(_ id: String = "p", _ fields: [(String, String)] = []) -> String {
        item([("id", "\"\(id)\""), ("model", "\"m\""), ("prediction", "1")], fields)
    }

    static func label(_ id: String = "p", _ fields: [(String, String)] = []) -> String {
        item([("id", "\"\(id)\""), ("model", "\"m\""), ("label", "1")], fields)
    }

    static func item(_ defaults: [(String, String)], _ fields: [(String, String)]) -> String {
        var members = defaults.filter { d in !fields.contains { $0.0 == d.0 } }
        members += fields
        return "{" + members.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }

    static let deep = 10_000
    static let huge = String(repeating: "h", count: 5 * 1024 * 1024)
    static let bigInteger = "1" + String(repeating: "7", count: 399)
}

// MARK: - Bodies

extension HostileInputTests {
    /// Invalid UTF-8 (in values, keys, NDJSON lines), raw NUL and control bytes, a BOM, empty
    /// and non-batch bodies, NaN and Infinity literals, nesting past the parser's limit.
    @Test func malformedJSONIsABadRequest() async throws {
        try await Self.withTarget("malformed JSON") { target in
            let invalidUTF8: [(String, [UInt8])] = [
                ("lone continuation", [0x80]), ("bad lead", [0xFF, 0xFE]), ("overlong slash", [0xC0, 0xAF]),
                ("UTF-8 surrogate", [0xED, 0xA0, 0x80]), ("truncated", [0xE2, 0x82]),
                ("past U+10FFFF", [0xF4, 0x90, 0x80, 0x80]),
            ]
            for (name, bytes) in invalidUTF8 {
                let inValue = Array(#"[{"id": "a"#.utf8) + bytes + Array(#"", "model": "m", "prediction": 1}]"#.utf8)
                await target.send("invalid UTF-8 in a value (\(name))", Self.post("/v1/predictions", inValue), .clientError)
                let inKey =
                    Array(#"[{"id": "a", "model": "m", "prediction": 1, "features": {"f"#.utf8) + bytes
                    + Array(#"": 1}}]"#.utf8)
                await target.send("invalid UTF-8 in a key (\(name))", Self.post("/v1/predictions", inKey), .clientError)
                await target.send("invalid UTF-8 in a label", Self.post("/v1/labels", inValue), .clientError)
                let line = Array((Self.prediction("ok") + "\n").utf8) + inValue.dropFirst().dropLast()
                await target.send(
                    "invalid UTF-8 in an NDJSON line (\(name))",
                    Self.post("/v1/predictions", line, contentType: "application/x-ndjson"),
                    .rejections([.malformedJSON]))
            }
            let raw: [(String, [UInt8])] = [
                (
                    "NUL byte in a string",
                    Array(#"[{"id": "a"#.utf8) + [0] + Array(#"b", "model": "m", "prediction": 1}]"#.utf8)
                ),
                ("NUL byte between tokens", Array("[".utf8) + [0] + Array("]".utf8)),
                ("raw tab in a string", Array("[{\"id\": \"a\tb\", \"model\": \"m\", \"prediction\": 1}]".utf8)),
                ("BOM", [0xEF, 0xBB, 0xBF] + Array("[\(Self.prediction())]".utf8)),
                ("UTF-16 body", Array("[\(Self.prediction())]".utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }),
                ("empty body", []), ("white space body", Array(" \r\n\t ".utf8)),
                ("null body", Array("null".utf8)), ("true body", Array("true".utf8)),
                ("string body", Array(#""[]""#.utf8)),
                ("a body that is 1e400", Array("1e400".utf8)), ("a body that is -1e400", Array("-1e400".utf8)),
                ("a body that is a 400-digit integer", Array(Self.bigInteger.utf8)),
                ("a body that is a 1 MiB integer", Array(String(repeating: "9", count: 1 << 20).utf8)),
                ("trailing garbage", Array("[] []".utf8)), ("unterminated array", Array("[{}".utf8)),
                ("'predictions' not an array", Array(#"{"predictions": {"id": "a"}}"#.utf8)),
                ("single quotes", Array("[{'id': 'a', 'model': 'm', 'prediction': 1}]".utf8)),
                ("trailing comma", Array("[\(Self.prediction()),]".utf8)), ("comment", Array("[/* */]".utf8)),
                ("unpaired surrogate escape", Array(#"[{"id": "\ud800", "model": "m", "prediction": 1}]"#.utf8)),
                ("bad escape", Array(#"[{"id": "\x41", "model": "m", "prediction": 1}]"#.utf8)),
            ]
            for (name, body) in raw {
                await target.send(name, Self.post("/v1/predictions", body), .clientError)
                // To /v1/labels, {"predictions": …} is a single (invalid) label, not a wrapper.
                let wrapper = name.hasPrefix("'predictions'")
                await target.send(
                    name + " (labels)", Self.post("/v1/labels", body),
                    wrapper ? .rejections([.invalidID]) : .clientError)
            }
            for literal in ["NaN", "Infinity", "-Infinity", "nan", "inf", "+1", "01", "1.", ".5", "0x10", "1e"] {
                for field in ["prediction", "confidence", "timestamp"] {
                    await target.send(
                        "\(literal) as \(field)",
                        Self.post("/v1/predictions", "[\(Self.prediction("n", [(field, literal)]))]"), .clientError)
                }
                let feature = Self.prediction("n", [("features", "{\"f\": \(literal)}")])
                await target.send("\(literal) as a feature", Self.post("/v1/predictions", "[\(feature)]"), .clientError)
            }
            for (open, close) in [("[", "]"), (#"{"a": "#, "}")] {
                let nested =
                    String(repeating: open, count: Self.deep) + "1" + String(repeating: close, count: Self.deep)
                await target.send("\(Self.deep)-deep \(open)", Self.post("/v1/predictions", nested), .clientError)
                let inFeature = Self.prediction("d", [("features", #"{"f": "# + nested + "}")])
                await target.send(
                    "\(Self.deep)-deep \(open) in a feature", Self.post("/v1/predictions", "[\(inFeature)]"),
                    .clientError)
                let inSegments = Self.prediction("d", [("segments", #"{"s": "# + nested + "}")])
                await target.send(
                    "\(Self.deep)-deep \(open) in segments", Self.post("/v1/predictions", "[\(inSegments)]"),
                    .clientError)
                await target.send("\(Self.deep)-deep \(open) labels", Self.post("/v1/labels", nested), .clientError)
            }
            let freeze = "/v1/models/m/reference"
            for body in [#"{"from": NaN, "to": 1}"#, #"{"from": 1e400, "to": 1}"#, "[", "null", ""] {
                await target.send("freeze body \(body)", Self.post(freeze, body), .clientError)
            }
        }
    }
}

extension HostileInputTests {
    /// 5 MiB strings in every string field, 1e400 and 400-digit numbers in every numeric one,
    /// 600 members in every map: rejected item by item, and no answer repeats the value.
    @Test func hugeValuesAreRejectedWithoutAnEcho() async throws {
        try await Self.withTarget("huge values") { target in
            await target.send("seed", Self.post("/v1/predictions", "[\(Self.prediction("seed"))]"), .accepted(1))
            let h = "\"\(Self.huge)\""
            let predictions: [(String, [(String, String)], RejectReason)] = [
                ("5 MiB id", [("id", h)], .invalidID), ("5 MiB model", [("model", h)], .invalidModel),
                ("5 MiB version", [("version", h)], .invalidVersion),
                ("5 MiB variant", [("variant", h)], .invalidVariant),
                ("5 MiB timestamp", [("timestamp", h)], .invalidTimestamp),
                ("5 MiB prediction", [("prediction", h)], .invalidPrediction),
                ("5 MiB feature value", [("features", "{\"f\": \(h)}")], .invalidFeatures),
                ("5 MiB feature name", [("features", "{\(h): 1}")], .invalidFeatures),
                ("5 MiB segment value", [("segments", "{\"s\": \(h)}")], .invalidSegments),
                ("5 MiB score name", [("scores", "{\(h): 0.5}")], .invalidScores),
                ("5 MiB metric name", [("metrics", "{\(h): 1}")], .invalidMetrics),
            ]
            for (name, fields, reason) in predictions {
                let body = "[\(Self.prediction("big", fields))]"
                await target.send(name, Self.post("/v1/predictions", body), .rejections([reason]))
            }
            let labels: [(String, [(String, String)], RejectReason)] = [
                ("5 MiB label id", [("id", h)], .invalidID), ("5 MiB label model", [("model", h)], .invalidModel),
                ("5 MiB label value", [("label", h)], .invalidLabel),
                ("5 MiB label timestamp", [("timestamp", h)], .invalidTimestamp),
            ]
            for (name, fields, reason) in labels {
                await target.send(name, Self.post("/v1/labels", "[\(Self.label("big", fields))]"), .rejections([reason]))
            }
            await target.send(
                "5 MiB reference row id",
                Self.post("/v1/models/m/reference", "[\(Self.prediction("r", [("id", h)]))]", method: "PUT"),
                .clientError)
            await target.send(
                "5 MiB freeze version", Self.post("/v1/models/m/reference", #"{"from": 0, "to": 1, "version": \#(h)}"#),
                .clientError)
            for number in ["1e400", "-1e400", Self.bigInteger, "-" + Self.bigInteger] {
                let cases: [(String, [(String, String)], RejectReason)] = [
                    ("prediction", [("prediction", number)], .invalidPrediction),
                    ("confidence", [("confidence", number)], .invalidConfidence),
                    ("timestamp", [("timestamp", number)], .invalidTimestamp),
                    ("feature", [("features", "{\"f\": \(number)}")], .invalidFeatures),
                    ("score", [("scores", "{\"a\": \(number)}")], .invalidScores),
                    ("segment", [("segments", "{\"s\": \(number)}")], .invalidSegments),
                    ("metric", [("metrics", "{\"m\": \(number)}")], .invalidMetrics),
                ]
                for (field, fields, reason) in cases {
                    await target.send(
                        "\(number.prefix(6)) as \(field)",
                        Self.post("/v1/predictions", "[\(Self.prediction("n", fields))]"),
                        .rejections([reason]))
                }
                await target.send(
                    "\(number.prefix(6)) as a label",
                    Self.post("/v1/labels", "[\(Self.label("n", [("label", number)]))]"),
                    .rejections([.invalidLabel]))
            }
            func members(_ n: Int, _ value: String) -> String {
                "{" + (0..<n).map { "\"k\($0)\": \(value)" }.joined(separator: ", ") + "}"
            }
            for (field, value, reason) in [
                ("features", "1", RejectReason.invalidFeatures), ("scores", "0.1", .invalidScores),
                ("segments", "\"g\"", .invalidSegments), ("metrics", "1", .invalidMetrics),
            ] {
                await target.send(
                    "600 \(field)",
                    Self.post("/v1/predictions", "[\(Self.prediction("w", [(field, members(600, value))]))]"),
                    .rejections([reason]))
            }
            await target.send(
                "512 features",
                Self.post("/v1/predictions", "[\(Self.prediction("w512", [("features", members(512, "1"))]))]"),
                .accepted(1))
            let nestedSegments = String(repeating: #"{"s": "#, count: 50) + "1" + String(repeating: "}", count: 50)
            await target.send(
                "50-deep segments",
                Self.post("/v1/predictions", "[\(Self.prediction("ds", [("segments", nestedSegments)]))]"),
                .rejections([.invalidSegments]))
            let longPath = String(repeating: "x", count: 5000)
            await target.send(
                "5000-byte model in a path",
                Array("GET /v1/models/\(longPath)/metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8),
                .clientError)
            await target.send(
                "5000-byte path", Array("GET /\(longPath) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8),
                .clientError)
            await target.send("5000-byte freeze path", Self.post("/v1/models/\(longPath)/reference", "{}"), .clientError)
            await target.send(
                "5000-byte reference path", Self.post("/v1/models/\(longPath)/reference", "[]", method: "PUT"),
                .clientError)
            for query in ["window=\(longPath)", "to=\(longPath)", "state=\(longPath)", "limit=\(longPath)"] {
                let path = query.hasPrefix("window") || query.hasPrefix("to") ? "/v1/models/m/metrics" : "/v1/alerts"
                await target.send(
                    "5000-byte \(query.prefix(5))",
                    Array("GET \(path)?\(query) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), .clientError)
            }
        }
    }
}

extension HostileInputTests {
    /// Every field of a prediction and of a label, with a value of every other JSON type.
    static let wrongTypes: [(kind: String, field: String, values: [String], reason: RejectReason)] = [
        ("prediction", "id", ["42", "true", "null", "[\"a\"]", "{\"a\": 1}", "\"\""], .invalidID),
        (
            "prediction", "model", ["42", "false", "null", "[\"m\"]", "{\"m\": 1}", "\"\"", "\"a b\"", "\"m\\u0000\""],
            .invalidModel
        ),
        ("prediction", "version", ["42", "true", "[1]", "{}", "\"\"", "\"v\\u0000\"", "\"v\\n\""], .invalidVersion),
        ("prediction", "variant", ["42", "true", "[1]", "{}", "\"\"", "\"\\u0007\""], .invalidVariant),
        ("prediction", "timestamp", ["true", "[1]", "{}", "\"\""], .invalidTimestamp),
        ("prediction", "prediction", ["null", "[1]", "{\"a\": 1}"], .invalidPrediction),
        (
            "prediction", "features", ["42", "\"f\"", "true", "[1, 2]", "{\"f\": [1]}", "{\"f\": {}}", "{\"\": 1}"],
            .invalidFeatures
        ),
        ("prediction", "confidence", ["\"0.5\"", "true", "[0.5]", "{}", "-0.1", "1.5"], .invalidConfidence),
        (
            "prediction", "scores",
            ["42", "\"a\"", "[0.5]", "{\"a\": \"0.5\"}", "{\"a\": null}", "{\"a\": 2}", "{\"a\": -1}"], .invalidScores
        ),
        ("prediction", "segments", ["42", "\"s\"", "[\"g\"]", "{\"s\": [1]}", "{\"s\": {}}"], .invalidSegments),
        (
            "prediction", "metrics", ["42", "\"m\"", "[1]", "{\"m\": \"1\"}", "{\"m\": null}", "{\"m\": {}}"],
            .invalidMetrics
        ),
        ("label", "id", ["42", "true", "null", "[\"a\"]", "{}"], .invalidID),
        ("label", "model", ["42", "null", "[\"m\"]", "{}", "\"no/slash\""], .invalidModel),
        ("label", "label", ["[1]", "{\"a\": 1}"], .invalidLabel),
        ("label", "metrics", ["42", "\"m\"", "[1]", "{\"m\": \"x\"}"], .invalidMetrics),
        ("label", "timestamp", ["true", "[1]", "{}", "\"yesterday\""], .invalidTimestamp),
    ]

    /// Timestamps no calendar has, or outside 1970–9999.
    static let absurdTimestamps = [
        "\"0000-01-01T00:00:00Z\"", "\"10000-01-01T00:00:00Z\"", "-1", "-0.5", "1e20", "253402300800",
        "\"2026-13-45T99:99:99Z\"", "\"2026-02-30T00:00:00Z\"", "\"2025-02-29T00:00:00Z\"", "\"1969-12-31T23:59:59Z\"",
        "\"1970-01-01T00:00:00+01:00\"", "\"9999-12-31T23:59:59-01:00\"", "\"2026-01-01\"", "\"2026-01-01T00:00:00\"",
        "\"2026-01-01T00:00:00.Z\"", "\"2026-01-01T00:00:00+24:00\"", "\"2026-01-01T00:00:00Z \"",
        "\" 2026-01-01T00:00:00Z\"",
        "\"now\"", "\"1700000000\"",
    ]

    @Test func wrongTypesAndAbsurdTimestampsAreRejectedItemByItem() async throws {
        try await Self.withTarget("wrong types, timestamps") { target in
            for (kind, field, values, reason) in Self.wrongTypes {
                let items = values.enumerated().map { i, value in
                    kind == "label"
                        ? Self.label("\(field)-\(i)", [(field, value)])
                        : Self.prediction("\(field)-\(i)", [(field, value)])
                }
                let path = kind == "label" ? "/v1/labels" : "/v1/predictions"
                let answer = await target.send(
                    "wrong types for \(kind) \(field)", Self.post(path, "[" + items.joined(separator: ", ") + "]"),
                    .rejections(Array(repeating: reason, count: values.count)))
                #expect(answer.status == 200)
            }
            let predictions = Self.absurdTimestamps.enumerated().map { i, t in
                Self.prediction("t\(i)", [("timestamp", t)])
            }
            await target.send(
                "absurd prediction timestamps",
                Self.post("/v1/predictions", "[" + predictions.joined(separator: ", ") + "]"),
                .rejections(Array(repeating: .invalidTimestamp, count: predictions.count)))
            let labels = Self.absurdTimestamps.enumerated().map { i, t in Self.label("t\(i)", [("timestamp", t)]) }
            await target.send(
                "absurd label timestamps", Self.post("/v1/labels", "[" + labels.joined(separator: ", ") + "]"),
                .rejections(Array(repeating: .invalidTimestamp, count: labels.count)))
            await target.send(
                "year 9999 prediction",
                Self.post(
                    "/v1/predictions", "[\(Self.prediction("far", [("timestamp", "\"9999-12-31T23:59:59Z\"")]))]"),
                .rejections([.futureTimestamp]))
            let notObjects = ["1", "\"a\"", "null", "true", "[]", "[{}]"]
            await target.send(
                "items that are not objects",
                Self.post("/v1/predictions", "[" + notObjects.joined(separator: ", ") + "]"),
                .rejections(Array(repeating: .notAnObject, count: notObjects.count)))
        }
    }

    /// Odd but valid: duplicate keys, NUL and other escapes in ids and names, labels for ids
    /// never predicted, empty batches. Stored, and an id with a NUL still joins its label.
    @Test func oddButValidInputIsStored() async throws {
        try await Self.withTarget("odd but valid") { target in
            await target.send("empty array", Self.post("/v1/predictions", "[]"), .accepted(0))
            await target.send("empty wrapper", Self.post("/v1/predictions", #"{"predictions": []}"#), .accepted(0))
            await target.send(
                "empty NDJSON", Self.post("/v1/predictions", "\n\n", contentType: "application/x-ndjson"), .accepted(0))
            await target.send(
                "duplicate keys",
                Self.post(
                    "/v1/predictions",
                    #"[{"id": "d1", "id": "d2", "model": "m", "model": "m", "prediction": 1, "prediction": 2, "features": {"f": 1, "f": "x"}}]"#
                ),
                .accepted(1))
            await target.send(
                "NUL and escapes in an id and names",
                Self.post(
                    "/v1/predictions",
                    #"[{"id": "nul\u0000id", "model": "m", "prediction": "a\u0000b", "features": {"f\u0000": 1, "\u00e9\ud83d\ude00": "\u2028"}}]"#
                ),
                .accepted(1))
            await target.send(
                "label for the NUL id",
                Self.post("/v1/labels", #"[{"id": "nul\u0000id", "model": "m", "label": "a\u0000b"}]"#), .accepted(1))
            await target.send(
                "label of an id never predicted", Self.post("/v1/labels", "[\(Self.label("never"))]"), .accepted(1))
            await target.send(
                "label of a model never seen", Self.post("/v1/labels", #"[{"id": "x", "model": "ghost", "label": 1}]"#),
                .accepted(1))
            await target.send(
                "prediction with a 256-character id",
                Self.post("/v1/predictions", "[\(Self.prediction(String(repeating: "i", count: 256)))]"), .accepted(1))
            await target.send(
                "prediction with a 257-character id",
                Self.post("/v1/predictions", "[\(Self.prediction(String(repeating: "i", count: 257)))]"),
                .rejections([.invalidID]))
            let listing = try await target.http.get("/v1/models")
            let models = try #require(try? JSONParser.parse(listing.body))
            let m = try #require(models["models"]?.array.first { $0["name"]?.stringValue == "m" })
            #expect(
                m["counts"]?["labeled"]?.int == 1,
                "the label of the NUL id did not join: \(m["counts"].map(JSONWriter.string) ?? "")")
        }
    }
}
