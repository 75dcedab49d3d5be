import HTTPTypes
import Hummingbird
import Synchronization
import VigilCore

/// The bytes of request bodies held at once (collected, parsed and waiting for their commit),
/// across all connections: `server.max_connections` slow clients with `max_body_bytes` each
/// would otherwise hold gigabytes. A request reserves its `Content-Length` (or `max_body_bytes`
/// when chunked; plus `max_body_bytes` for its inflated form when it is compressed) before
/// reading; past the budget it is `503 overloaded` with `Retry-After`.
final class BodyBudget: Sendable {
    let limit: Int
    private let held = Mutex(0)

    init(limit: Int) { self.limit = limit }

    /// Bytes reserved now (a gauge).
    var reserved: Int { held.withLock { $0 } }

    /// Runs `body` holding a reservation for `request`'s body.
    func withReservation<T: Sendable>(
        for request: Request, maxBodyBytes: Int, _ body: () async throws -> T
    ) async throws -> T {
        let declared = request.headers[.contentLength].flatMap { Int($0) } ?? maxBodyBytes
        var bytes = max(0, min(declared, maxBodyBytes))
        // A compressed body is held beside its inflated form, which may reach max_body_bytes.
        // (An unsupported coding reserves nothing more: parsing refuses it with 415 before reading.)
        if (try? BodyEncoding(request.headers[.contentEncoding])) == .gzip { bytes += maxBodyBytes }
        let admitted = held.withLock { held -> Bool in
            // One request is always admitted when nothing is held, whatever its size.
            guard held == 0 || held + bytes <= limit else { return false }
            held += bytes
            return true
        }
        guard admitted else { throw StorageUnavailable(.overloaded, retryAfterSeconds: 1) }
        defer { held.withLock { $0 -= bytes } }
        return try await body()
    }
}
