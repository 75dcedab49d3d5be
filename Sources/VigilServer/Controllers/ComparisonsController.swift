import Hummingbird
import NIOCore
import VigilCore
import VigilEngine

/// `GET /v1/models/{model}/compare?baseline=SIDE&candidate=SIDE&window=1h` (DESIGN §5).
struct ComparisonsController: Sendable {
    let config: VigilConfig
    let registry: ModelRegistry
    let comparisons: any Comparisons
    let retainedSpan: Int64
    let clock: any VigilClock

    func compare(_ request: Request, context: AppRequestContext) async throws -> Response {
        let model = try context.parameters.require("model")
        guard registry.schema(model) != nil else {
            throw APIError(.notFound, "no model named '\(APIError.excerpt(model))'")
        }
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
