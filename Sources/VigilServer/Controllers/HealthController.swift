import Hummingbird
import NIOCore

/// Liveness, readiness, `/metrics` and the OpenAPI document.
struct HealthController: Sendable {
    let services: AppServices

    struct Status: Encodable { var status: String }

    func healthz(_ request: Request, context: AppRequestContext) async throws -> Response {
        JSONResponse.make(Status(status: "ok"))
    }

    /// Ready when the database (opened with migrations applied at start-up) answers a query and
    /// takes writes; `503` with the reason and `Retry-After` while it does not (disk full,
    /// read-only, locked, I/O error).
    func readyz(_ request: Request, context: AppRequestContext) async throws -> Response {
        if let condition = await services.store.unreadiness(at: services.now()) { throw condition }
        return JSONResponse.make(Status(status: "ready"))
    }

    func metrics(_ request: Request, context: AppRequestContext) async throws -> Response {
        for schema in services.store.registry.snapshot().values {
            services.metrics.setPendingLabels(model: schema.name, count: schema.counts.pendingLabels)
        }
        let depths = services.store.queueDepths
        services.metrics.setQueues(
            writer: depths.writer, folds: depths.folds, writable: services.store.isWritable,
            connections: services.connections.count)
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
