import Hummingbird
import NIOCore
import VigilCore
import VigilEngine

/// `GET /v1/models/{model}/compare?baseline=SIDE&candidate=SIDE&window=1h` (DESIGN §5) and
/// `POST /v1/gates/flagger`, Flagger's webhook gate on the verdict (DESIGN §7).
struct ComparisonsController: Sendable {
    let config: VigilConfig
    let registry: ModelRegistry
    let comparisons: any Comparisons
    let releases: any ReleaseLog
    let retainedSpan: Int64
    let clock: any VigilClock

    func compare(_ request: Request, context: AppRequestContext) async throws -> Response {
        let model = try context.parameters.require("model")
        try registry.requireKnown(model)
        let query = request.uri.queryParameters
        let baseline = try Self.side(query["baseline"], "baseline")
        let candidate = try Self.side(query["candidate"], "candidate")
        let span = try WindowQuery(query, config: config, retainedSpan: retainedSpan)
        let document = try await comparisons.comparison(
            model: model, baseline: baseline, candidate: candidate, window: span.window, endingAt: span.endingAt,
            now: clock.now)
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(document.json()))))
    }

    /// Flagger posts `{name, namespace, phase, checksum, metadata: {model, baseline, candidate,
    /// window}}` and treats any status above 202 as a failed check. `confirm-promotion` passes
    /// only on a `promote` verdict that is not provisional; a `rollback` hook passes (Flagger
    /// rolls back) only on a `rollback` verdict; every other phase passes unless the verdict is
    /// `rollback`. The answer carries the verdict and its reason either way.
    func flaggerGate(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await IngestController.collect(request, limit: 65_536, timeout: config.server.bodyTimeout)
        let json = try? body.withUnsafeReadableBytes { try JSONParser.parse(Array($0)) }
        guard case .object(let object)? = json, case .string(let phase)? = object["phase"],
            case .object(let metadata)? = object["metadata"], case .string(let model)? = metadata["model"],
            case .string(let baselineText)? = metadata["baseline"], case .string(let candidateText)? = metadata["candidate"]
        else {
            throw APIError(
                .badRequest,
                "body must be Flagger's webhook payload with phase and metadata {model, baseline, candidate, window?}")
        }
        try registry.requireKnown(model)
        let baseline = try Self.side(Substring(baselineText), "metadata.baseline")
        let candidate = try Self.side(Substring(candidateText), "metadata.candidate")
        var query = Parameters()
        if case .string(let w)? = metadata["window"] { query["window"] = Substring(w) }
        let span = try WindowQuery(query, config: config, retainedSpan: retainedSpan)
        let document = try await comparisons.comparison(
            model: model, baseline: baseline, candidate: candidate, window: span.window, endingAt: nil, now: clock.now)
        let allowed: Bool
        switch phase {
        case "confirm-promotion": allowed = document.verdict == .promote && !document.provisional
        case "rollback": allowed = document.verdict == .rollback
        default: allowed = document.verdict != .rollback
        }
        let answer = JSONValue.object([
            ("allowed", .bool(allowed)), ("phase", .string(phase)), ("verdict", .string(document.verdict.rawValue)),
            ("provisional", .bool(document.provisional)), ("reason", .string(document.reason)),
        ])
        return Response(
            status: allowed ? .ok : .forbidden, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(answer))))
    }

    /// `GET /v1/models/{model}/releases?limit=N`: the audit trail, newest first — verdict
    /// changes of watched comparisons and the answers `http` notifiers got.
    func releaseLog(_ request: Request, context: AppRequestContext) async throws -> Response {
        let model = try context.parameters.require("model")
        try registry.requireKnown(model)
        var limit = 100
        if let raw = request.uri.queryParameters["limit"] {
            guard let n = Int(raw), n >= 1, n <= 1000 else { throw APIError(.badRequest, "limit must be 1 to 1000") }
            limit = n
        }
        let events = try await releases.releaseEvents(model: model, limit: limit)
        let body = JSONValue.object([
            ("model", .string(model)),
            (
                "events",
                .array(
                    events.map { e in
                        .object([
                            ("at", .string(Timestamp.format(e.at))), ("kind", .string(e.kind.rawValue)),
                            ("baseline", .from(e.baseline)), ("candidate", .from(e.candidate)),
                            ("window", .from(e.window)), ("verdict", .from(e.verdict)),
                            ("previous", .from(e.previous)), ("detail", .string(e.detail)),
                            ("notifier", .from(e.notifier)), ("outcome", .from(e.outcome)),
                        ])
                    })
            ),
        ])
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(body))))
    }

    static func side(_ raw: Substring?, _ name: String) throws -> ComparisonSide {
        guard let raw, !raw.isEmpty else {
            throw APIError(.badRequest, "'\(name)' is required: version:NAME, variant:NAME or both, comma-separated")
        }
        switch ComparisonSide.parse(String(raw)) {
        case .success(let side): return side
        case .failure(let e): throw APIError(.badRequest, "'\(name)': \(APIError.excerpt(e.message))")
        }
    }
}
