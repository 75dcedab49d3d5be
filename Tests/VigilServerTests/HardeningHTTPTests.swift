import Foundation
import Testing
import VigilCore

@testable import VigilServer

/// Issue 10, defects 1, 2, 6 and 13 and the HTTP limits, on the real binary through raw sockets
/// (no client normalises the paths or framing these tests send).
@Suite(.serialized) struct HardeningHTTPTests {
    static let environment = ["T_INGEST": "ingest-secret-1", "T_READ": "read-secret-2"]
    /// Keys that de6ce92 already knew, so the same test runs against it (VIGIL_BINARY) and fails for the defect.
    static let config = """
        server: {max_body_bytes: 65536}
        auth:
          tokens: [{name: checkout, env: T_INGEST, scopes: [ingest]}, {name: grafana, env: T_READ, scopes: [read]}]
        evaluation_interval: 1s
        """
    /// With the limits added for issue 10.
    static let limited = config.replacingOccurrences(
        of: "server: {max_body_bytes: 65536}",
        with: "server: {max_body_bytes: 65536, max_items_per_request: 500, body_timeout: 2s, header_timeout: 2s, max_connections: 8}"
    )
    static let read = "Authorization: Bearer read-secret-2"
    static let ingest = "Authorization: Bearer ingest-secret-1"

    /// Runs the binary with `config` and gives the body a raw client on its port.
    static func withVigil(
        _ config: String = HardeningHTTPTests.config, _ body: (RawHTTP, VigilProcess) async throws -> Void
    ) async throws {
        let directory = try TemporaryDirectory()
        let configPath = directory.path("vigil.yaml")
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let vigil = try await VigilProcess.serve(
            db: directory.path("vigil.db"), logPath: directory.path("vigil.log"), extra: ["--config", configPath],
            environment: environment)
        try await body(RawHTTP(port: vigil.port), vigil)
        #expect(vigil.process.isRunning, "vigil died:\n\((try? String(contentsOfFile: vigil.logPath, encoding: .utf8)) ?? "")")
        #expect(await vigil.terminate() == 0)
    }

    static func post(_ path: String, _ body: String, headers: [String] = [ingest]) -> String {
        "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
            + headers.map { $0 + "\r\n" }.joined() + "Connection: close\r\n\r\n" + body
    }

    // MARK: - Defect 1: auth from the matched route

    /// Fails on de6ce92: `//v1/models`, `/metrics/` and friends were served without a token.
    @Test func everyReadRouteNeedsATokenHoweverItsPathIsSpelled() async throws {
        try await Self.withVigil { http, _ in
            let seeded = try await http.exchange(
                Self.post("/v1/predictions", #"[{"id": "a", "model": "m", "prediction": 1}]"#))
            #expect(seeded.status == 200)
            for path in [
                "/v1/models", "//v1/models", "///v1/models", "/v1//models", "/v1/models/", "//v1/models/m/metrics",
                "/v1/models/m/metrics/", "//v1/alerts", "/v1/alerts/", "/metrics/", "//metrics", "/v1/models?x=1",
            ] {
                let anonymous = try await http.get(path)
                #expect([401, 404].contains(anonymous.status), "GET \(path) without a token: \(anonymous.status)")
                #expect(!anonymous.body.contains("vigil_") && !anonymous.body.contains("\"models\""), "\(path) leaked")
                let withIngest = try await http.get(path, headers: [Self.ingest])
                #expect([403, 404].contains(withIngest.status), "GET \(path) with an ingest token: \(withIngest.status)")
            }
            #expect(try await http.get("//v1/models", headers: [Self.read]).status == 200)
            #expect(try await http.get("/metrics/", headers: [Self.read]).status == 200)
            // Writes through odd paths need the ingest scope too.
            let sneaky = try await http.exchange(
                Self.post("//v1/predictions", #"[{"id": "b", "model": "m", "prediction": 1}]"#, headers: [Self.read]))
            #expect(sneaky.status == 403)
            // Open routes stay open.
            #expect(try await http.get("/healthz").status == 200)
            #expect(try await http.get("/openapi.yaml").status == 200)
        }
    }

    /// Every route declares a scope and the ones serving data are not open.
    @Test func everyRouteDeclaresItsScope() {
        for route in APIRoute.allCases {
            switch route.path {
            case "/healthz", "/readyz", "/openapi.yaml": #expect(route.scope == .open)
            default: #expect(route.scope != .open, "\(route.path) must not be open")
            }
            // Flagger's gate is a POST that only reads a verdict.
            if route.method != .get && route != .flaggerGate { #expect(route.scope == .ingest, "\(route.path) writes") }
        }
        #expect(APIRoute.flaggerGate.scope == .read)
    }

    /// Undeclared methods on a served path are `405` with `Allow` (schemathesis' finding).
    @Test func undeclaredMethodsAre405WithAllow() async throws {
        try await Self.withVigil { http, _ in
            let answer = try await http.exchange(
                "DELETE /v1/models HTTP/1.1\r\nHost: x\r\n\(Self.read)\r\nConnection: close\r\n\r\n")
            #expect(answer.status == 405)
            #expect(answer.header("allow") == "GET")
            let put = try await http.exchange(Self.post("/v1/predictions", "[]").replacingOccurrences(of: "POST", with: "PUT"))
            #expect(put.status == 405 && put.header("allow") == "POST")
        }
    }

    // MARK: - Defect 2: hostile query parameters

    /// Fails on de6ce92: `to=nan` trapped in an integer conversion and killed the process.
    @Test func hostileWindowParametersAre400AndTheProcessLives() async throws {
        try await Self.withVigil { http, vigil in
            _ = try await http.exchange(Self.post("/v1/predictions", #"[{"id": "a", "model": "m", "prediction": 1}]"#))
            for query in [
                "to=nan", "to=NaN", "to=inf", "to=-inf", "to=1e300", "to=-1e300", "to=9223372036854775807",
                "window=99999999w&to=1", "window=9223372036854775807ms&to=253402300799", "window=1000000d",
                "to=10000-01-01T00:00:00Z", "window=0m", "window=-5m",
            ] {
                let answer = try await http.get("/v1/models/m/metrics?\(query)", headers: [Self.read])
                #expect(answer.status == 400, "\(query): \(answer.status) \(answer.body)")
                #expect(vigil.process.isRunning, "\(query) killed vigil")
            }
            let fine = try await http.get("/v1/models/m/metrics?window=2h&to=2026-11-01T00:00:00Z", headers: [Self.read])
            #expect(fine.status == 200)
        }
    }

    // MARK: - Defect 6: response amplification

    /// Fails on de6ce92: a body of many empty objects answered with one error per item.
    @Test func manyBadItemsGiveABoundedAnswer() async throws {
        try await Self.withVigil { http, _ in
            // Default server.max_items_per_request: 10,000.
            let tooMany = "[" + Array(repeating: "{}", count: 10_001).joined(separator: ",") + "]"
            let refused = try await http.exchange(Self.post("/v1/predictions", tooMany))
            #expect(refused.status == 413 && refused.body.contains("max_items_per_request"), "\(refused.text.prefix(200))")
            #expect(refused.body.utf8.count < 1000)
            let many = "[" + Array(repeating: "{}", count: 500).joined(separator: ",") + "]"
            let answer = try await http.exchange(Self.post("/v1/predictions", many))
            #expect(answer.status == 200)
            let json = try JSONParser.parse(answer.body)
            #expect(json.objectValue?["rejected"]?.numberValue == 500)
            #expect(json.objectValue?["errors"].map { if case .array(let a) = $0 { a.count } else { -1 } } == 100)
            #expect(json.objectValue?["errors_truncated"]?.numberValue == 400)
            #expect(answer.body.utf8.count < 20_000)
        }
    }

    // MARK: - Defect 13: malformed HTTP

    /// Fails on de6ce92: a broken chunked body and an oversized chunked body were 500s.
    @Test func malformedFramingIsAClientError() async throws {
        try await Self.withVigil { http, _ in
            let head = "POST /v1/predictions HTTP/1.1\r\nHost: x\r\n\(Self.ingest)\r\nContent-Type: application/json\r\n"
            let broken = try await http.exchange(head + "Transfer-Encoding: chunked\r\n\r\nZZ\r\nnot hex\r\n0\r\n\r\n")
            #expect(broken.status == 400, "broken chunked: \(broken.text)")
            #expect(!broken.body.contains("internal"))
            // A chunked body over max_body_bytes (64 KiB here): 413, not 500.
            let chunk = String(repeating: " ", count: 16_384)
            let chunks = (0..<8).map { _ in String(16_384, radix: 16) + "\r\n" + chunk + "\r\n" }.joined()
            let oversized = try await http.exchange(head + "Transfer-Encoding: chunked\r\n\r\n" + chunks + "0\r\n\r\n")
            #expect(oversized.status == 413, "oversized chunked: \(oversized.text.prefix(300))")
            #expect(oversized.body.contains("max_body_bytes") && !oversized.body.contains("NIO"))
        }
    }

    /// A Content-Length larger than the body sent: 408 once `body_timeout` passes (the process
    /// holds no buffer for ever).
    @Test func aBodyThatNeverArrivesIs408() async throws {
        try await Self.withVigil(Self.limited) { http, _ in
            let head = "POST /v1/predictions HTTP/1.1\r\nHost: x\r\n\(Self.ingest)\r\nContent-Type: application/json\r\n"
            let started = ContinuousClock.now
            let short = try await http.exchange(head + "Content-Length: 1000\r\n\r\n[{\"id\": ")
            #expect(short.status == 408, "short body: \(short.text)")
            #expect(ContinuousClock.now - started < .seconds(8))
        }
    }

    /// A client that trickles its headers is closed after `header_timeout`; a connection past
    /// `max_connections` gets 503 with `Retry-After`.
    @Test func slowHeadersAndTooManyConnections() async throws {
        try await Self.withVigil(Self.limited) { http, _ in
            let slow = try http.connect()
            defer { close(slow) }
            RawHTTP.write(slow, Array("GET /healthz HTTP/1.1\r\nHost: x\r\n".utf8))
            let started = ContinuousClock.now
            for _ in 0..<6 {
                try await Task.sleep(for: .milliseconds(500))
                RawHTTP.write(slow, Array("X-Slow: 1\r\n".utf8))
            }
            let answer = await RawHTTP.read(slow)
            #expect(answer.status == 0, "a slow-header client was answered: \(answer.text)")
            #expect(ContinuousClock.now - started < .seconds(8))

            var held: [Int32] = []
            defer { for fd in held { close(fd) } }
            for _ in 0..<8 { held.append(try http.connect()) }
            try await Task.sleep(for: .milliseconds(200))
            let extra = try await http.get("/healthz")
            #expect(extra.status == 503 && extra.header("retry-after") == "1")
            for fd in held { close(fd) }
            held = []
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await http.get("/healthz").status == 200)
        }
    }
}
