import Foundation
import Hummingbird
import NIOCore
import VigilCore
import VigilStorage

/// `POST /v1/predictions` and `POST /v1/labels` (DESIGN §2): the three body shapes, per-item
/// validation, and a response only after the accepted items are committed.
struct IngestController: Sendable {
    let services: AppServices

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
    }

    func predictions(_ request: Request, context: AppRequestContext) async throws -> Response {
        let now = services.now()
        let validator = EventValidator(config: services.config)
        let (items, ndjsonErrors) = try await parse(request, context: context, kind: .prediction)
        var errors = ndjsonErrors
        var valid: [Prediction] = []
        valid.reserveCapacity(items.count)
        for (index, item) in items {
            switch validator.prediction(item, index: index, receivedAt: now) {
            case .success(let p): valid.append(p)
            case .failure(let e): errors.append(e)
            }
        }
        let outcomes = try await services.store.ingest(predictions: valid, receivedAt: now)
        var stored: [SeriesKey: Int] = [:]
        for (p, outcome) in zip(valid, outcomes) where outcome == .accepted {
            stored[SeriesKey(model: p.model, version: p.version), default: 0] += 1
        }
        for (key, count) in stored {
            services.metrics.recordPredictions(model: key.model, version: key.version, count: count)
        }
        return respond(outcomes: outcomes, errors: errors, kind: .prediction)
    }

    func labels(_ request: Request, context: AppRequestContext) async throws -> Response {
        let now = services.now()
        let validator = EventValidator(config: services.config)
        let (items, ndjsonErrors) = try await parse(request, context: context, kind: .label)
        var errors = ndjsonErrors
        var valid: [Label] = []
        for (index, item) in items {
            switch validator.label(item, index: index) {
            case .success(let l): valid.append(l)
            case .failure(let e): errors.append(e)
            }
        }
        let outcomes = try await services.store.ingest(labels: valid, receivedAt: now)
        var stored: [String: Int] = [:]
        for (l, outcome) in zip(valid, outcomes) where outcome == .accepted { stored[l.model, default: 0] += 1 }
        for (model, count) in stored { services.metrics.recordLabels(model: model, count: count) }
        return respond(outcomes: outcomes, errors: errors, kind: .label)
    }

    /// Reads and splits the body; throws 400 for a JSON body that does not parse, 413 past the limit.
    func parse(_ request: Request, context: AppRequestContext, kind: ItemKind) async throws -> (
        [(Int, JSONValue)], [ItemError]
    ) {
        let limit = services.config.server.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw HTTPError(.contentTooLarge)
        }
        let body = try await request.body.collect(upTo: limit)
        let ndjson = IngestBody.isNDJSON(contentType: request.headers[.contentType])
        let parsed: [Result<JSONValue, ItemError>]
        do {
            parsed = try body.withUnsafeReadableBytes { raw in
                try IngestBody.items(raw.bindMemory(to: UInt8.self), ndjson: ndjson, kind: kind)
            }
        } catch let error as BodyError {
            throw APIError(.badRequest, error.message)
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
            if outcome == .accepted { body.accepted += 1 } else { body.duplicates += 1 }
        }
        body.rejected = errors.count
        body.errors = errors.sorted { $0.index < $1.index }.map {
            ItemErrorBody(index: $0.index, id: $0.id, reason: $0.reason.rawValue, error: $0.message)
        }
        var rejections: [RejectReason: Int] = [:]
        for error in errors { rejections[error.reason, default: 0] += 1 }
        for (reason, count) in rejections { services.metrics.recordRejected(kind: kind, reason: reason, count: count) }
        if body.duplicates > 0 { services.metrics.recordDuplicates(kind: kind, count: body.duplicates) }
        return JSONResponse.make(body)
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
