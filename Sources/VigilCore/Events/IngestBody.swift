/// Why a whole ingest body was refused (`400`, nothing stored).
public struct BodyError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// More items than allowed (`413`, not `400`).
    public var tooManyItems = false
    public init(_ message: String, tooManyItems: Bool = false) {
        self.message = message
        self.tooManyItems = tooManyItems
    }
    public var description: String { message }
}

/// Splits an ingest body into items, in the three shapes of DESIGN §2: a JSON array, a wrapper
/// object (`{"predictions": [...]}` / `{"labels": [...]}`), or NDJSON. As an extension, a single
/// item object is accepted as a batch of one.
public enum IngestBody {
    /// Content types read as NDJSON.
    public static let ndjsonTypes = [
        "application/x-ndjson", "application/ndjson", "application/jsonl", "application/json-lines",
    ]

    /// Whether a `Content-Type` header value names NDJSON.
    public static func isNDJSON(contentType: String?) -> Bool {
        guard let contentType else { return false }
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingSpaces.lowercased() } ?? ""
        return ndjsonTypes.contains(mediaType)
    }

    /// The items of a body: each parsed item, or the NDJSON line's parse error as that item's
    /// rejection. Throws when a JSON (non-NDJSON) body does not parse or has the wrong shape.
    /// More than `maxItems` items throws `tooManyItems` as soon as the parse sees them.
    public static func items(
        _ body: UnsafeBufferPointer<UInt8>, ndjson: Bool, kind: ItemKind, maxItems: Int = .max
    ) throws(BodyError) -> [Result<JSONValue, ItemError>] {
        let tooMany = BodyError("request has more than \(maxItems) items", tooManyItems: true)
        if ndjson {
            let items = lines(body, limit: maxItems)
            if items.count > maxItems { throw tooMany }
            return items
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse(body, maxArrayElements: maxItems)
        } catch {
            if error.tooManyElements { throw tooMany }
            if body.allSatisfy({ [0x20, 0x0A, 0x0D, 0x09].contains($0) }) { throw BodyError("request body is empty") }
            throw BodyError("request body is not valid JSON: \(error.description)")
        }
        switch value {
        case .array(let elements):
            return elements.map { .success($0) }
        case .object(let object):
            if let wrapped = object[kind.wrapperKey] {
                guard case .array(let elements) = wrapped else {
                    throw BodyError("'\(kind.wrapperKey)' must be an array, got \(wrapped.typeName)")
                }
                return elements.map { .success($0) }
            }
            return [.success(value)]
        default:
            throw BodyError(
                "request body must be a JSON array, an object with '\(kind.wrapperKey)', or NDJSON (Content-Type: application/x-ndjson); got \(value.typeName)"
            )
        }
    }

    /// NDJSON: one item per non-blank line; item indices count non-blank lines from 0.
    static func lines(_ body: UnsafeBufferPointer<UInt8>, limit: Int = .max) -> [Result<JSONValue, ItemError>] {
        var result: [Result<JSONValue, ItemError>] = []
        var start = 0
        while start < body.count, result.count <= limit {
            var end = start
            while end < body.count, body[end] != 0x0A { end += 1 }
            let line = UnsafeBufferPointer(rebasing: body[start..<end])
            if !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                do {
                    result.append(.success(try JSONParser.parse(line)))
                } catch {
                    result.append(
                        .failure(
                            ItemError(
                                index: result.count, id: nil, reason: .malformedJSON,
                                message: "line is not valid JSON: \(error.description)")))
                }
            }
            start = end + 1
        }
        return result
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
