import HTTPTypes
import HummingbirdTesting
import Testing
import VigilCore

@testable import VigilServer

@Suite struct AuthTests {
    static let config: VigilConfig = {
        var config = VigilConfig()
        config.auth.tokens = [
            TokenConfig(name: "checkout", env: "T_INGEST", scopes: [.ingest]),
            TokenConfig(name: "grafana", env: "T_READ", scopes: [.read]),
        ]
        return config
    }()
    static let environment = ["T_INGEST": "ingest-secret-1", "T_READ": "read-secret-2"]
    static let body = #"[{"id": "a", "model": "m", "prediction": 1}]"#

    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

    @Test func ingestNeedsAnIngestToken() async throws {
        try await withApp(Self.config, environment: Self.environment) { client in
            var (status, body, _) = try await client.send(.post, "/v1/predictions", Self.body)
            #expect(status == .unauthorized && body?["error"] != nil)
            (status, _, _) = try await client.send(.post, "/v1/predictions", Self.body, headers: Self.bearer("nope"))
            #expect(status == .unauthorized)
            (status, body, _) = try await client.send(
                .post, "/v1/predictions", Self.body, headers: Self.bearer("read-secret-2"))
            #expect(status == .forbidden && body?["error"]?.stringValue?.contains("ingest") == true)
            (status, _, _) = try await client.send(
                .post, "/v1/predictions", Self.body, headers: Self.bearer("ingest-secret-1"))
            #expect(status == .ok)
            (status, _, _) = try await client.send(
                .post, "/v1/labels", #"[{"id": "a", "model": "m", "label": 1}]"#,
                headers: Self.bearer("ingest-secret-1"))
            #expect(status == .ok)
        }
    }

    @Test(arguments: ["/v1/models", "/metrics"])
    func readsNeedAReadToken(_ path: String) async throws {
        try await withApp(Self.config, environment: Self.environment) { client in
            do {
                let status = try await client.send(.get, path).0
                #expect(status == .unauthorized)
            }
            do {
                let status = try await client.send(.get, path, headers: Self.bearer("ingest-secret-10")).0
                #expect(status == .unauthorized)
            }
            do {
                let status = try await client.send(.get, path, headers: Self.bearer("ingest-secret-1")).0
                #expect(status == .forbidden)
            }
            do {
                let status = try await client.send(.get, path, headers: Self.bearer("read-secret-2")).0
                #expect(status == .ok)
            }
        }
    }

    @Test(arguments: ["/healthz", "/readyz", "/openapi.yaml"])
    func probesAndTheSpecAreOpen(_ path: String) async throws {
        try await withApp(Self.config, environment: Self.environment) { client in
            do {
                let status = try await client.send(.get, path).0
                #expect(status == .ok)
            }
        }
    }

    @Test func withoutTokensEverythingIsOpen() async throws {
        try await withApp { client in
            do {
                let status = try await client.send(.post, "/v1/predictions", Self.body).0
                #expect(status == .ok)
            }
            do {
                let status = try await client.send(.get, "/v1/models").0
                #expect(status == .ok)
            }
        }
    }

    @Test func aTokenWhoseVariableIsUnsetStopsStartup() async throws {
        await #expect(throws: StartupError.self) {
            try await withApp(Self.config, environment: ["T_INGEST": "x"]) { _ in }
        }
    }

    @Test func comparisonIsExact() {
        #expect(TokenAuthenticator.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!TokenAuthenticator.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        #expect(!TokenAuthenticator.constantTimeEqual(Array("abc".utf8), Array("abcd".utf8)))
        #expect(!TokenAuthenticator.constantTimeEqual([], Array("a".utf8)))
        // Fails on de6ce92: a length difference of 256 truncated to 0 in a byte, and the padding
        // compared equal, so the secret followed by 256 NUL bytes matched.
        #expect(!TokenAuthenticator.constantTimeEqual(Array("abc".utf8), Array("abc".utf8) + [UInt8](repeating: 0, count: 256)))
    }
}
