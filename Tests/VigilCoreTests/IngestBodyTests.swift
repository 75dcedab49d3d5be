import Testing

@testable import VigilCore

@Suite struct IngestBodyTests {
    func items(_ text: String, ndjson: Bool = false, kind: ItemKind = .prediction) throws(BodyError) -> [Result<
        JSONValue, ItemError
    >] {
        let bytes = Array(text.utf8)
        let result: Result<[Result<JSONValue, ItemError>], BodyError> = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(BodyError) in try IngestBody.items(buffer, ndjson: ndjson, kind: kind) }
        }
        return try result.get()
    }

    @Test func readsTheThreeShapes() throws {
        #expect(try items(#"[{"id": "a"}, {"id": "b"}]"#).count == 2)
        #expect(try items(#"{"predictions": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}"#).count == 3)
        #expect(try items(#"{"labels": [{"id": "a"}]}"#, kind: .label).count == 1)
        #expect(try items("{\"id\": \"a\"}\n\n{\"id\": \"b\"}\r\n", ndjson: true).count == 2)
        #expect(try items(#"{"id": "single"}"#).count == 1)
    }

    @Test func ndjsonLinesThatDoNotParseAreRejectedByIndex() throws {
        let result = try items("{\"id\": \"a\"}\n{broken\n{\"id\": \"c\"}\n", ndjson: true)
        #expect(result.count == 3)
        guard case .failure(let error) = result[1] else {
            Issue.record("line 2 parsed")
            return
        }
        #expect(error.index == 1 && error.reason == .malformedJSON)
        if case .failure = result[2] { Issue.record("line 3 rejected") }
    }

    @Test(arguments: ["", "  ", "{bad", "[1, 2", "42", "\"text\"", #"{"predictions": 5}"#])
    func refusesBodiesThatAreNotABatch(_ text: String) {
        #expect(throws: BodyError.self) { try items(text) }
    }

    @Test func recognisesNDJSONContentTypes() {
        #expect(IngestBody.isNDJSON(contentType: "application/x-ndjson"))
        #expect(IngestBody.isNDJSON(contentType: "Application/X-NDJSON; charset=utf-8"))
        #expect(!IngestBody.isNDJSON(contentType: "application/json"))
        #expect(!IngestBody.isNDJSON(contentType: nil))
    }
}
