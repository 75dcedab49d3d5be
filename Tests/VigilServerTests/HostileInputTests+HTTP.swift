import Foundation
import Testing

@testable import VigilServer

extension HostileInputTests {
    /// One malformed request for a route: the head lines after the request line, and the expectation.
    struct Malformation: Sendable {
        var name: String
        var request: @Sendable (_ method: String, _ path: String) -> String
        var expect: @Sendable (_ readsBody: Bool) -> Expectation
    }

    static let body = "[]"
    static let host = "Host: 127.0.0.1\r\n"

    /// Framing and head damage, each sent to every route. A GET route reads no body, so damage
    /// confined to the body may be answered 200 before the connection closes.
    static let malformations: [Malformation] = [
        Malformation(
            name: "bad method token", request: { _, p in "G@T \(p) HTTP/1.1\r\n\(host)\r\n" },
            expect: { _ in .clientError }),
        Malformation(
            name: "lower-case method", request: { m, p in "\(m.lowercased()) \(p) HTTP/1.1\r\n\(host)\r\n" },
            expect: { _ in .clientError }),
        Malformation(
            name: "no HTTP version", request: { m, p in "\(m) \(p)\r\n\(host)\r\n" }, expect: { _ in .clientError }),
        Malformation(
            name: "HTTP/9.9", request: { m, p in "\(m) \(p) HTTP/9.9\r\n\(host)\r\n" }, expect: { _ in .clientError }),
        Malformation(
            name: "100 KiB header value",
            request: { m, p in
                "\(m) \(p) HTTP/1.1\r\n\(host)X-Big: \(String(repeating: "b", count: 100 * 1024))\r\n\r\n"
            },
            expect: { _ in .clientError }),
        Malformation(
            name: "10,000 headers",
            request: { m, p in "\(m) \(p) HTTP/1.1\r\n\(host)" + (0..<10_000).map { "X-\($0): 1\r\n" }.joined() + "\r\n"
            },
            expect: { _ in .clientError }),
        Malformation(
            name: "100 KiB request target",
            request: { m, p in "\(m) \(p)?q=\(String(repeating: "q", count: 100 * 1024)) HTTP/1.1\r\n\(host)\r\n" },
            expect: { _ in .clientError }),
        Malformation(
            name: "header without a colon", request: { m, p in "\(m) \(p) HTTP/1.1\r\n\(host)NoColon\r\n\r\n" },
            expect: { _ in .clientError }),
        Malformation(
            name: "NUL in a header", request: { m, p in "\(m) \(p) HTTP/1.1\r\n\(host)X-A: a\u{0}b\r\n\r\n" },
            expect: { _ in .clientError }),
        Malformation(
            name: "bare LF line ends", request: { m, p in "\(m) \(p) HTTP/1.1\n\(host.dropLast(2))\n\n" },
            expect: { _ in .clientError }),
        Malformation(
            name: "Content-Length past the body",
            request: { m, p in "\(m) \(p) HTTP/1.1\r\n\(host)Content-Length: 100\r\n\r\n\(body)" },
            expect: { reads in reads ? .clientError : .answered }),
        Malformation(
            name: "Content-Length short of the body",
            request: { m, p in "\(m) \(p) HTTP/1.1\r\n\(host)Content-Length: 1\r\nConnection: close\r\n\r\n\(body)" },
            expect: { reads in reads ? .clientError : .answered }),
        Malformation(
            name: "two Content-Lengths",
            request: { m, p in "\(m) \(p) HTTP/1.1\r\n\(host)Content-Length: 2\r\nContent-Length: 3\r\n\r\n\(body)" },
            expect: { _ in .clientError }),
        Malformation(
            name: "Content-Length not a number",
            request: { m, p in "\(m) \(p) HTTP/1.1\r\n\(host)Content-Length: two\r\n\r\n\(body)" },
            expect: { _ in .clientError }),
        Malformation(
            name: "Content-Length past UInt64",
            request: { m, p in "\(m) \(p) HTTP/1.1\r\n\(host)Content-Length: 99999999999999999999999\r\n\r\n\(body)" },
            expect: { _ in .clientError }),
        Malformation(
            name: "chunked and Content-Length",
            request: { m, p in
                "\(m) \(p) HTTP/1.1\r\n\(host)Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n\(body)\r\n0\r\n\r\n"
            },
            expect: { _ in .clientError }),
        Malformation(
            name: "chunk size not hex",
            request: { m, p in
                "\(m) \(p) HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\nZZ\r\n\(body)\r\n0\r\n\r\n"
            },
            expect: { reads in reads ? .clientError : .answered }),
        Malformation(
            name: "chunk size past UInt64",
            request: { m, p in
                "\(m) \(p) HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFFFF\r\n\(body)\r\n0\r\n\r\n"
            },
            expect: { reads in reads ? .clientError : .answered }),
        Malformation(
            name: "chunked body without its last chunk",
            request: { m, p in "\(m) \(p) HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n2\r\n\(body)\r\n" },
            expect: { reads in reads ? .clientError : .answered }),
        Malformation(
            name: "unknown transfer coding",
            request: { m, p in "\(m) \(p) HTTP/1.1\r\n\(host)Transfer-Encoding: gzip\r\n\r\n\(body)" },
            expect: { reads in reads ? .clientError : .answeredOrClosed }),
        Malformation(
            name: "TLS hello on the plain port",
            request: { _, _ in "\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}\u{00}\u{01}\u{fc}\u{03}\u{03}" },
            expect: { _ in .clientError }),
    ]

    /// Every malformation on every route (with a model that exists for the `{model}` routes).
    @Test func malformedHTTPOnEveryRouteIsAClientError() async throws {
        try await Self.withTarget("malformed HTTP") { target in
            await target.send("seed", Self.post("/v1/predictions", "[\(Self.prediction("seed"))]"), .accepted(1))
            for route in APIRoute.allCases {
                let path = route.path.replacingOccurrences(of: "{model}", with: "m")
                let method = route.method.rawValue
                let readsBody = route.method != .get
                for malformation in Self.malformations {
                    await target.send(
                        "\(malformation.name) on \(method) \(path)", Array(malformation.request(method, path).utf8),
                        malformation.expect(readsBody))
                }
            }
        }
    }
}
