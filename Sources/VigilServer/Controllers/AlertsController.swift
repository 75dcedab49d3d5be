import Hummingbird
import NIOCore
import VigilCore
import VigilEngine

/// `GET /v1/alerts` (DESIGN §2): pending and firing alerts; `?state=resolved&limit=N` for history,
/// `?state=firing` or `pending` for one state.
struct AlertsController: Sendable {
    /// The active alerts (the rule state machine's memory).
    let active: @Sendable () -> [Alert]
    /// Alert history.
    let store: any AlertStore

    func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        var limit = 100
        if let raw = query["limit"] {
            guard let n = Int(raw), n >= 1, n <= 1000 else { throw APIError(.badRequest, "limit must be 1 to 1000") }
            limit = n
        }
        let alerts: [Alert]
        switch query["state"].map(String.init) {
        case nil, "active"?: alerts = Array(active().prefix(limit))
        case "firing"?: alerts = Array(active().filter { $0.state == .firing }.prefix(limit))
        case "pending"?: alerts = Array(active().filter { $0.state == .pending }.prefix(limit))
        case "resolved"?: alerts = try await store.alerts(states: [.resolved], limit: limit)
        default: throw APIError(.badRequest, "state must be active, pending, firing or resolved")
        }
        let body: JSONValue = .object([("alerts", .array(alerts.map(Self.json)))])
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(body))))
    }

    static func json(_ a: Alert) -> JSONValue {
        func map(_ m: [String: String]) -> JSONValue { .object(m.keys.sorted().map { ($0, .string(m[$0]!)) }) }
        return .object([
            ("name", .string(a.rule)), ("model", .string(a.model)), ("state", .string(a.state.rawValue)),
            ("labels", map(a.labels)), ("annotations", map(a.annotations)), ("value", .number(a.value)),
            ("active_at", .string(Timestamp.format(a.activeAt))),
            ("fired_at", a.firedAt.map { .string(Timestamp.format($0)) } ?? .null),
            ("resolved_at", a.resolvedAt.map { .string(Timestamp.format($0)) } ?? .null),
            ("fingerprint", .string(a.fingerprint)),
        ])
    }
}
