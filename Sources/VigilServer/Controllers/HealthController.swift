import Hummingbird
import NIOCore

/// Liveness, readiness, `/metrics` and the OpenAPI document.
struct HealthController: Sendable {
    let services: AppServices

    struct Status: Encodable { var status: String }

    func healthz(_ request: Request, context: AppRequestContext) async throws -> Response {
        JSONResponse.make(Status(status: "ok"))
    }

    /// Ready when the database (opened with migrations applied at start-up) answers a query.
    func readyz(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard await services.store.isHealthy() else {
            throw APIError(.serviceUnavailable, "storage is not answering")
        }
        return JSONResponse.make(Status(status: "ready"))
    }

    func metrics(_ request: Request, context: AppRequestContext) async throws -> Response {
        for schema in services.store.registry.snapshot().values {
            services.metrics.setPendingLabels(model: schema.name, count: schema.counts.pendingLabels)
        }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(
                byteBuffer: ByteBuffer(
                    bytes: services.metrics.render() + services.engine.exposition + services.alerts.exposition())))
    }

    func openAPI(_ request: Request, context: AppRequestContext) async throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
    }
}
