import CompressNIO
import Foundation
import Hummingbird
import NIOCore
import VigilCore
import VigilEngine
import VigilStorage

/// `POST /v1/predictions` and `POST /v1/labels` (DESIGN §2): the three body shapes, per-item
/// validation, and a response only after the accepted items are committed.
struct IngestController: Sendable {
    let config: VigilConfig
    let ingest: any Ingesting
    let metrics: MetricsCatalog
    /// Request body bytes held at once.
    let bodies: BodyBudget
    let clock: any VigilClock

    /// A `vigil_predictions_total` series: counted per request, not per item.
    struct SeriesKey: Hashable {
        var model: String
        var version: String
    }

    struct ItemErrorBody: Encodable {
        var index: Int
        var id: String?
        var reason: String
        var error: String
    }

    struct ResponseBody: Encodable {
        var accepted = 0
        var duplicates = 0
        var rejected = 0
        var errors: [ItemErrorBody] = []
        /// Rejected items not listed in `errors` (only the first `maxListedErrors` are).
        var errorsTruncated: Int?

        enum CodingKeys: String, CodingKey {
            case accepted, duplicates, rejected, errors
            case errorsTruncated = "errors_truncated"
        }
    }

    /// Item errors listed in a response; the rest are counted in `errors_truncated`, so a body of
    /// a million bad items cannot amplify into a response of hundreds of megabytes.
    static let maxListedErrors = 100

    func predictions(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await bodies.withReservation(for: request, maxBodyBytes: config.server.maxBodyBytes) {
            try await storePredictions(request, context: context)
        }
    }

    func labels(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await bodies.withReservation(for: request, maxBodyBytes: config.server.maxBodyBytes) {
            try await storeLabels(request, context: context)
        }
    }

    private func storePredictions(_ request: Request, context: AppRequestContext) async throws -> Response {
        let now = clock.now
        let validator = EventValidator(config: config)
        let (items, ndjsonErrors) = try await parse(request, context: context, kind: .prediction)
        var errors = ndjsonErrors
        var valid: [Prediction] = []
        var indices: [Int] = []
        valid.reserveCapacity(items.count)
        for (index, item) in items {
            switch validator.prediction(item, index: index, receivedAt: now) {
            case .success(let p):
                valid.append(p)
                indices.append(index)
            case .failure(let e): errors.append(e)
            }
        }
        let outcomes = try await ingest.ingest(predictions: valid, receivedAt: now)
        errors += Self.rejections(outcomes, indices: indices) { valid[$0].id }
        var stored: [SeriesKey: Int] = [:]
        // Shadows are left out of the live model's totals (DESIGN §5).
        for (p, outcome) in zip(valid, outcomes) where outcome == .accepted && !p.isShadow {
            stored[SeriesKey(model: p.model, version: p.version), default: 0] += 1
        }
        for (key, count) in stored {
            metrics.recordPredictions(model: key.model, version: key.version, count: count)
        }
        return respond(outcomes: outcomes, errors: errors, kind: .prediction)
    }

    private func storeLabels(_ request: Request, context: AppRequestContext) async throws -> Response {
        let now = clock.now
        let validator = EventValidator(config: config)
        let (items, ndjsonErrors) = try await parse(request, context: context, kind: .label)
        var errors = ndjsonErrors
        var valid: [Label] = []
        var indices: [Int] = []
        for (index, item) in items {
            switch validator.label(item, index: index) {
            case .success(let l):
                valid.append(l)
                indices.append(index)
            case .failure(let e): errors.append(e)
            }
        }
        let outcomes = try await ingest.ingest(labels: valid, receivedAt: now)
        errors += Self.rejections(outcomes, indices: indices) { valid[$0].id }
        var stored: [String: Int] = [:]
        for (l, outcome) in zip(valid, outcomes) where outcome == .accepted { stored[l.model, default: 0] += 1 }
        for (model, count) in stored { metrics.recordLabels(model: model, count: count) }
        return respond(outcomes: outcomes, errors: errors, kind: .label)
    }

    /// Reads and splits the body; throws 400 for a JSON body that does not parse, 413 past the
    /// size or item limit, 408 when the body does not arrive within `server.body_timeout`, 415
    /// for a `Content-Encoding` other than `gzip` or `identity`. A gzip body is inflated to at
    /// most `max_body_bytes` as well (413 past it: a small bomb cannot inflate without bound).
    func parse(_ request: Request, context: AppRequestContext, kind: ItemKind) async throws -> (
        [(Int, JSONValue)], [ItemError]
    ) {
        let server = config.server
        let encoding = try BodyEncoding(request.headers[.contentEncoding])
        var body = try await Self.collect(request, limit: server.maxBodyBytes, timeout: server.bodyTimeout)
        if encoding == .gzip { body = try Self.inflate(&body, limit: server.maxBodyBytes) }
        let ndjson = IngestBody.isNDJSON(contentType: request.headers[.contentType])
        let maxItems = kind == .reference ? ReferenceProfile.maxRows : server.maxItemsPerRequest
        let parsed: [Result<JSONValue, ItemError>]
        do {
            parsed = try body.withUnsafeReadableBytes { raw in
                try IngestBody.items(raw.bindMemory(to: UInt8.self), ndjson: ndjson, kind: kind, maxItems: maxItems)
            }
        } catch let error as BodyError {
            guard error.tooManyItems else { throw APIError(.badRequest, error.message) }
            throw APIError(
                .contentTooLarge,
                kind == .reference
                    ? "a reference holds at most \(maxItems) rows"
                    : "request has more than \(maxItems) items (server.max_items_per_request)")
        }
        var items: [(Int, JSONValue)] = []
        var errors: [ItemError] = []
        items.reserveCapacity(parsed.count)
        for (index, result) in parsed.enumerated() {
            switch result {
            case .success(let value): items.append((index, value))
            case .failure(let error): errors.append(error)
            }
        }
        return (items, errors)
    }

    private func respond(outcomes: [ItemOutcome], errors: [ItemError], kind: ItemKind) -> Response {
        var body = ResponseBody()
        for outcome in outcomes {
            switch outcome {
            case .accepted: body.accepted += 1
            case .duplicate: body.duplicates += 1
            case .rejected: break  // listed in `errors`
            }
        }
        body.rejected = errors.count
        body.errors = Self.listed(errors)
        if errors.count > Self.maxListedErrors { body.errorsTruncated = errors.count - Self.maxListedErrors }
        var rejections: [RejectReason: Int] = [:]
        for error in errors { rejections[error.reason, default: 0] += 1 }
        for (reason, count) in rejections { metrics.recordRejected(kind: kind, reason: reason, count: count) }
        if body.duplicates > 0 { metrics.recordDuplicates(kind: kind, count: body.duplicates) }
        var response = JSONResponse.make(body)
        // RFC 7694: the codings this resource takes in requests, so a client can start sending gzip.
        response.headers[.acceptEncoding] = "gzip"
        return response
    }
}

/// The `Content-Encoding` of an ingestion body: none, `identity` or `gzip` (RFC 9110 §8.4).
enum BodyEncoding: Equatable {
    case identity, gzip

    init(_ header: String?) throws {
        let codings = (header ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            .filter { !$0.isEmpty && $0 != "identity" }
        switch codings {
        case []: self = .identity
        case ["gzip"], ["x-gzip"]: self = .gzip
        default:
            throw APIError(
                .unsupportedMediaType,
                "Content-Encoding \(APIError.excerpt(header ?? "")) is not supported (send gzip or no encoding)",
                headers: [.acceptEncoding: "gzip"])
        }
    }
}

extension IngestController {
    /// Inflates a gzip body to at most `limit` bytes: 413 past it, 400 when it is not gzip or is cut short.
    static func inflate(_ body: inout ByteBuffer, limit: Int) throws -> ByteBuffer {
        // A gzip member ends with ISIZE, the inflated length mod 2^32 (RFC 1952 §2.3.1): inflating
        // stops quietly at the end of a cut-short body, so a mismatch is how truncation shows.
        let size = body.getInteger(at: body.writerIndex - 4, endianness: .little, as: UInt32.self)
        do {
            let inflated = try body.decompress(with: .gzip(), maxSize: limit)
            guard let size, UInt32(truncatingIfNeeded: inflated.readableBytes) == size else {
                throw APIError(.badRequest, "request body is not valid gzip (Content-Encoding: gzip)")
            }
            return inflated
        } catch let error as APIError {
            throw error
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw APIError(
                .contentTooLarge, "request body exceeds max_body_bytes (\(limit) bytes) once decompressed")
        } catch {
            throw APIError(.badRequest, "request body is not valid gzip (Content-Encoding: gzip)")
        }
    }

    /// The items storage refused (a bound in `limits`), as item errors at their request index.
    static func rejections(_ outcomes: [ItemOutcome], indices: [Int], id: (Int) -> String) -> [ItemError] {
        var errors: [ItemError] = []
        for (i, outcome) in outcomes.enumerated() {
            guard case .rejected(let reason, let message) = outcome else { continue }
            errors.append(ItemError(index: indices[i], id: id(i), reason: reason, message: message))
        }
        return errors
    }

    /// The first `maxListedErrors` item errors by index, as response bodies.
    static func listed(_ errors: [ItemError]) -> [ItemErrorBody] {
        errors.sorted { $0.index < $1.index }.prefix(maxListedErrors).map {
            ItemErrorBody(index: $0.index, id: $0.id, reason: $0.reason.rawValue, error: $0.message)
        }
    }

    /// Collects a body of at most `limit` bytes (413 past it, by `Content-Length` before reading)
    /// that must arrive within `timeout` (408 otherwise, and the connection is closed): a slow
    /// client cannot hold a buffer of `limit` bytes for ever.
    static func collect(_ request: Request, limit: Int, timeout: TimeLength) async throws -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw HTTPError(.contentTooLarge)
        }
        let body = request.body
        return try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask { try await body.collect(upTo: limit) }
            group.addTask {
                try await Task.sleep(for: .milliseconds(timeout.millis))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let collected = first else {
                throw APIError(
                    .requestTimeout, "request body did not arrive within \(timeout.text) (server.body_timeout)",
                    headers: [.connection: "close"])
            }
            return collected
        }
    }
}

/// JSON responses with sorted keys (stable output for humans and diffs).
enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
