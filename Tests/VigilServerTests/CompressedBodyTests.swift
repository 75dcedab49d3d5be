import CompressNIO
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import VigilCore

@testable import VigilServer

/// Ingestion bodies sent with `Content-Encoding: gzip` (the Python client's default once the
/// server advertises it): inflated within `max_body_bytes`, refused clearly otherwise.
@Suite struct CompressedBodyTests {
    static func gzip(_ text: String) throws -> ByteBuffer {
        var plain = ByteBuffer(string: text)
        return try plain.compress(with: .gzip())
    }

    static func lines(_ ids: Range<Int>, model: String = "fraud") -> String {
        ids.map { #"{"id": "g\#($0)", "model": "\#(model)", "prediction": "ok", "features": {"amount": \#($0)}}"# }
            .joined(separator: "\n")
    }

    @Test func aGzipBodyIsStoredAndIngestAdvertisesGzip() async throws {
        try await withApp { client in
            let body = try Self.gzip(Self.lines(0..<500))
            try await client.execute(
                uri: "/v1/predictions", method: .post,
                headers: [.contentType: "application/x-ndjson", .contentEncoding: "gzip"], body: body
            ) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.acceptEncoding] == "gzip")
                let json = try JSONParser.parse(String(buffer: response.body))
                #expect(json["accepted"]?.int == 500 && json["rejected"]?.int == 0)
            }
            // Plain bodies advertise it too, so a client learns from its first request.
            let (status, _, _) = try await client.send(.post, "/v1/predictions", Self.lines(500..<501))
            #expect(status == .ok)
            try await client.execute(uri: "/v1/predictions", method: .post, body: ByteBuffer(string: Self.lines(501..<502))) {
                #expect($0.headers[.acceptEncoding] == "gzip")
            }
            let labels = try Self.gzip(#"{"id": "g1", "model": "fraud", "label": "ok"}"#)
            try await client.execute(
                uri: "/v1/labels", method: .post, headers: [.contentEncoding: "GZIP"], body: labels
            ) { #expect($0.status == .ok) }
            let (_, models, _) = try await client.send(.get, "/v1/models")
            #expect(models?["models"]?[0]?["counts"]?["predictions"]?.int == 502)
            #expect(models?["models"]?[0]?["counts"]?["labeled"]?.int == 1)
        }
    }

    /// 20 MiB of one repeated item compresses to tens of KiB: it must stop at max_body_bytes.
    @Test func aBodyInflatingPastMaxBodyBytesIs413AndStoresNothing() async throws {
        var config = VigilConfig()
        config.server.maxBodyBytes = 1 << 20
        try await withApp(config) { client in
            let one = Self.lines(0..<1) + "\n"
            let bomb = try Self.gzip(String(repeating: one, count: (20 << 20) / one.utf8.count))
            #expect(bomb.readableBytes < 200_000)
            try await client.execute(
                uri: "/v1/predictions", method: .post,
                headers: [.contentType: "application/x-ndjson", .contentEncoding: "gzip"], body: bomb
            ) { response in
                #expect(response.status == .contentTooLarge)
                #expect(String(buffer: response.body).contains("once decompressed"))
            }
            let (_, models, _) = try await client.send(.get, "/v1/models")
            #expect(models?["models"]?.array.isEmpty == true)
        }
    }

    @Test func corruptOrTruncatedGzipIs400() async throws {
        try await withApp { client in
            var whole = try Self.gzip(Self.lines(0..<100))
            let truncated = whole.readSlice(length: whole.readableBytes / 2)!
            for body in [ByteBuffer(string: Self.lines(0..<3)), truncated] {
                try await client.execute(
                    uri: "/v1/predictions", method: .post, headers: [.contentEncoding: "gzip"], body: body
                ) { response in
                    #expect(response.status == .badRequest)
                    #expect(String(buffer: response.body).contains("not valid gzip"))
                }
            }
        }
    }

    @Test(arguments: ["br", "deflate", "gzip, br", "compress"])
    func anotherEncodingIs415WithAcceptEncoding(_ encoding: String) async throws {
        try await withApp { client in
            try await client.execute(
                uri: "/v1/predictions", method: .post, headers: [.contentEncoding: encoding],
                body: ByteBuffer(string: Self.lines(0..<1))
            ) { response in
                #expect(response.status == .unsupportedMediaType)
                #expect(response.headers[.acceptEncoding] == "gzip")
            }
            try await client.execute(
                uri: "/v1/predictions", method: .post, headers: [.contentEncoding: "identity"],
                body: ByteBuffer(string: Self.lines(0..<1))
            ) { #expect($0.status == .ok) }
        }
    }

    @Test func aGzipReferenceIsInstalledAndListed() async throws {
        try await withApp { client in
            let (_, before, _) = try await client.send(.post, "/v1/predictions", Self.lines(0..<1, model: "ref"))
            #expect(before?["accepted"]?.int == 1)
            var (_, models, _) = try await client.send(.get, "/v1/models")
            #expect(models?["models"]?[0]?["reference"]?["installed"] == .null)
            let rows = (0..<300).map { #"{"id": "r\#($0)", "prediction": "ok", "label": "ok", "features": {"amount": \#($0)}}"# }
            try await client.execute(
                uri: "/v1/models/ref/reference", method: .put,
                headers: [.contentType: "application/x-ndjson", .contentEncoding: "gzip"],
                body: try Self.gzip(rows.joined(separator: "\n"))
            ) { response in
                #expect(response.status == .ok)
                let json = try JSONParser.parse(String(buffer: response.body))
                #expect(json["rows"]?.int == 300)
            }
            (_, models, _) = try await client.send(.get, "/v1/models")
            let installed = models?["models"]?[0]?["reference"]?["installed"]
            #expect(installed?["source"] == .string("upload"))
            #expect(installed?["rows"]?.int == 300 && installed?["labeled"]?.int == 300)
        }
    }
}
