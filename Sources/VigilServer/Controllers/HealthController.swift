import Hummingbird
import NIOCore
import VigilCore

/// Liveness, readiness, `/metrics` and the OpenAPI document.
struct HealthController: Sendable {
    let health: any StorageHealth
    let leadership: any Leadership
    let registry: ModelRegistry
    let metrics: MetricsCatalog
    let connections: ConnectionCounter
    let clock: any VigilClock
    /// Committed events not yet folded.
    let foldDepth: @Sendable () -> Int
    /// The window and alert gauges of the last evaluation.
    let exposition: @Sendable () -> [UInt8]

    struct Status: Encodable { var status: String }
    struct Readiness: Encodable {
        var status: String
        var replica: String
        var leader: Bool
    }

    func healthz(_ request: Request, context: AppRequestContext) async throws -> Response {
        JSONResponse.make(Status(status: "ok"))
    }

    /// Ready when the database (opened with migrations applied at start-up) answers a query and
    /// takes writes; `503` with the reason and `Retry-After` while it does not (disk full,
    /// read-only, locked, I/O error).
    func readyz(_ request: Request, context: AppRequestContext) async throws -> Response {
        if let condition = await health.unreadiness(at: clock.now) { throw condition }
        return JSONResponse.make(Readiness(status: "ready", replica: leadership.replica, leader: leadership.isLeader))
    }

    func metrics(_ request: Request, context: AppRequestContext) async throws -> Response {
        for schema in registry.snapshot().values {
            metrics.setPendingLabels(model: schema.name, count: schema.counts.pendingLabels)
        }
        metrics.setLeader(replica: leadership.replica, leading: leadership.isLeader)
        metrics.setQueues(
            writer: health.queuedWrites, folds: foldDepth(), writable: health.isWritable,
            connections: connections.count)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(
                byteBuffer: ByteBuffer(
                    bytes: metrics.render() + exposition())))
    }

    func openAPI(_ request: Request, context: AppRequestContext) async throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
    }
}
