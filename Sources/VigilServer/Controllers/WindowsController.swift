import Hummingbird
import NIOCore
import VigilCore
import VigilEngine

/// `GET /v1/models/{model}/metrics` (DESIGN §4) and the reference endpoints `PUT` / `POST
/// /v1/models/{model}/reference` (DESIGN §2).
struct WindowsController: Sendable {
    let config: VigilConfig
    let registry: ModelRegistry
    let documents: any MetricsDocuments
    let references: ReferenceManager
    /// Parses reference bodies like ingest bodies.
    let ingest: IngestController
    let metrics: MetricsCatalog
    let bodies: BodyBudget
    let clock: any VigilClock

    struct ReferenceResponse: Encodable {
        var model: String
        var source: String
        var rows: Int
        var labeled: Int
        var rejected = 0
        var errors: [IngestController.ItemErrorBody] = []
    }

    // MARK: - Metrics document

    func metrics(_ request: Request, context: AppRequestContext) async throws -> Response {
        let model = try context.parameters.require("model")
        try registry.requireKnown(model)
        let query = request.uri.queryParameters
        let span = try WindowQuery(query, config: config, retainedSpan: documents.retainedSpan)
        let report = try await documents.document(
            model: model, window: span.window, version: query.nonEmpty("version"),
            variant: query.nonEmpty("variant"), endingAt: span.endingAt, now: clock.now)
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(report.json()))))
    }


    // MARK: - References

    /// `PUT`: replaces the reference with the predictions in the body (labels inline allowed).
    func uploadReference(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await bodies.withReservation(for: request, maxBodyBytes: config.server.maxBodyBytes) {
            try await replaceReference(request, context: context)
        }
    }

    private func replaceReference(_ request: Request, context: AppRequestContext) async throws -> Response {
        let model = try context.parameters.require("model")
        guard ModelName.isValid(model) else { throw APIError(.badRequest, "model must match [A-Za-z0-9_.-]{1,64}") }
        let now = clock.now
        let (items, parseErrors) = try await ingest.parse(request, context: context, kind: .reference)
        var errors = parseErrors
        let validator = EventValidator(config: config)
        let rows = items.compactMap { index, item in
            Self.referenceRow(item, index: index, model: model, validator: validator, at: now, errors: &errors)
        }
        guard !rows.isEmpty else {
            throw APIError(.badRequest, "the reference needs at least one valid prediction (\(errors.count) rejected)")
        }
        guard rows.count <= ReferenceProfile.maxRows else {
            throw APIError(.contentTooLarge, "a reference holds at most \(ReferenceProfile.maxRows) rows")
        }
        let profile = try await references.install(model: model, rows: rows, source: .upload, at: now)
        for (reason, count) in Dictionary(grouping: errors, by: \.reason).mapValues(\.count) {
            metrics.recordRejected(kind: .reference, reason: reason, count: count)
        }
        return JSONResponse.make(
            ReferenceResponse(
                model: model, source: profile.source.rawValue, rows: profile.rows, labeled: profile.labeled,
                rejected: errors.count,
                errors: IngestController.listed(errors)))
    }

    /// One uploaded reference item as a prediction and its optional label, or its rejection
    /// appended to `errors`.
    private static func referenceRow(
        _ item: JSONValue, index: Int, model: String, validator: EventValidator, at now: Int64,
        errors: inout [ItemError]
    ) -> (prediction: Prediction, label: OutputValue?)? {
        guard case .object(var object) = item else {
            errors.append(ItemError(index: index, id: nil, reason: .notAnObject, message: "item must be a JSON object"))
            return nil
        }
        if let named = object["model"], named != .string(model) {
            errors.append(
                ItemError(
                    index: index, id: EventValidator.echoedID(object), reason: .invalidModel,
                    message: "item names another model than the path"))
            return nil
        }
        if object["model"] == nil { object.members.append(JSONMember(key: "model", value: .string(model))) }
        // Reference rows fold into no time bucket, so a future event time is harmless there.
        switch validator.prediction(.object(object), index: index, receivedAt: now, admitsFuture: true) {
        case .success(let p):
            guard let raw = object["label"], raw != .null else { return (p, nil) }
            guard let label = validator.output(raw) else {
                errors.append(
                    ItemError(
                        index: index, id: p.id, reason: .invalidLabel,
                        message: "label must be a string, number or boolean, got \(raw.typeName)"))
                return nil
            }
            return (p, label)
        case .failure(let e):
            errors.append(e)
            return nil
        }
    }

    struct FreezeBody {
        var from: Int64
        var to: Int64
        var version: String?
    }

    /// `POST`: freezes the stored predictions with event time in [from, to] as the reference.
    func freezeReference(_ request: Request, context: AppRequestContext) async throws -> Response {
        let model = try context.parameters.require("model")
        try registry.requireKnown(model)
        let body = try await IngestController.collect(
            request, limit: 65_536, timeout: config.server.bodyTimeout)
        let json: JSONValue
        do {
            json = try body.withUnsafeReadableBytes { try JSONParser.parse(Array($0)) }
        } catch {
            throw APIError(.badRequest, "body must be a JSON object {\"from\": ts, \"to\": ts, \"version\": v?}")
        }
        guard case .object(let object) = json, let fromValue = object["from"], let toValue = object["to"],
            let from = Timestamp.parse(fromValue), let to = Timestamp.parse(toValue)
        else {
            throw APIError(.badRequest, "'from' and 'to' are required: RFC 3339 timestamps or Unix seconds")
        }
        // A well-formed request that finds nothing to freeze conflicts with the stored state
        // (409), like an empty range: a schema cannot say "from <= to", so this is not a 400.
        guard from <= to else { throw APIError(.conflict, "'from' is after 'to': the range holds no predictions") }
        var version: String?
        if let v = object["version"], v != .null {
            guard let s = v.stringValue else { throw APIError(.badRequest, "'version' must be a string") }
            version = s
        }
        guard
            let profile = try await references.freeze(
                model: model, from: from, to: to, version: version, at: clock.now)
        else {
            throw APIError(.conflict, "no stored predictions of '\(model)' between 'from' and 'to'")
        }
        return JSONResponse.make(
            ReferenceResponse(
                model: model, source: profile.source.rawValue, rows: profile.rows, labeled: profile.labeled))
    }
}
