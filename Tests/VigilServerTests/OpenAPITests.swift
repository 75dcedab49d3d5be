import HTTPTypes
import HummingbirdTesting
import Testing
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

    @Test func documentIsOpenAPI3() throws {
        let document = try #require(try Yams.load(yaml: OpenAPIDocument.yaml) as? [String: Any])
        #expect((document["openapi"] as? String)?.hasPrefix("3.") == true)
        #expect(document["components"] != nil)
    }
}
