import Dispatch
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization
import VigilCore

/// One connection to PostgreSQL, opened on first use and opened again after it broke, so a
/// database that restarts is met with 503s while it is down and served again once it is back.
/// (Vigil keeps its own few connections rather than a pool that queues requests while it
/// reconnects: a request must fail fast with `Retry-After`, not wait for the database.)
///
/// Synchronous calls (`query`, `transaction`) block the calling thread on the connection's
/// event loop and are for the writer's thread and start-up; `read` is for async callers.
package final class PGLink: Sendable {
    let settings: PostgresSettings
    /// The connection's `application_name` (`vigil/<replica>/<role>`).
    let name: String
    let logger: Logger
    private let group: any EventLoopGroup
    private let current = Mutex<PostgresConnection?>(nil)
    /// Set by `close`: a call after it fails rather than open a connection nothing would close
    /// (one that took the leadership's locks again would hold them for a process that stopped).
    private let closed = Atomic<Bool>(false)
    /// Held across a whole synchronous call, so blocking callers take turns.
    private let turn = Mutex<Void>(())
    private static let ids = Atomic<Int>(0)

    package init(settings: PostgresSettings, role: String, group: any EventLoopGroup, logger: Logger) {
        self.settings = settings
        name = "vigil/\(settings.replicaID)/\(role)"
        self.group = group
        self.logger = logger
    }

    private func connect() -> EventLoopFuture<PostgresConnection> {
        do {
            let configuration = try settings.connectionConfiguration(applicationName: name)
            return PostgresConnection.connect(
                on: group.next(), configuration: configuration, id: Self.ids.add(1, ordering: .relaxed).newValue,
                logger: logger)
        } catch {
            return group.next().makeFailedFuture(error)
        }
    }

    /// The open connection, or a new one.
    private func connection() throws -> PostgresConnection {
        if let c = current.withLock({ $0 }), !c.isClosed { return c }
        try refuseIfClosed()
        let fresh = try connect().wait()
        return try keep(fresh)
    }

    private func connection() async throws -> PostgresConnection {
        if let c = current.withLock({ $0 }), !c.isClosed { return c }
        try refuseIfClosed()
        let fresh = try await connect().get()
        return try keep(fresh)
    }

    private func refuseIfClosed() throws {
        if closed.load(ordering: .acquiring) { throw StorageUnavailable(.shuttingDown, retryAfterSeconds: 5) }
    }

    /// Makes `fresh` the current connection, unless another call opened one meanwhile (that one
    /// is kept) or `close` ran meanwhile (then `fresh` is closed and the call fails).
    private func keep(_ fresh: PostgresConnection) throws -> PostgresConnection {
        let kept = current.withLock { c -> PostgresConnection? in
            if closed.load(ordering: .acquiring) { return nil }
            if let c, !c.isClosed { return c }
            c = fresh
            return fresh
        }
        if kept !== fresh { Self.discard(fresh) }
        guard let kept else { throw StorageUnavailable(.shuttingDown, retryAfterSeconds: 5) }
        return kept
    }

    /// Forgets a connection that failed with a connection-level error (the next call reconnects).
    private func dropIfBroken(_ error: any Error) {
        guard PGFault.isConnectionLevel(error) else { return }
        let old = current.withLock { c -> PostgresConnection? in
            defer { c = nil }
            return c
        }
        if let old { Self.discard(old) }
    }

    /// Runs one statement and returns its rows.
    @discardableResult
    package func query(_ query: PostgresQuery) throws -> PGResult {
        try turn.withLock { _ in try run(query) }
    }

    private func run(_ query: PostgresQuery) throws -> PGResult {
        do {
            let c = try connection()
            let future: EventLoopFuture<PostgresQueryResult> = c.query(query, logger: logger)
            return PGResult(try future.wait())
        } catch {
            dropIfBroken(error)
            throw error
        }
    }

    /// Runs `body` in one transaction (`BEGIN` … `COMMIT`), rolled back if it throws.
    package func transaction<T>(_ body: (PGTransaction) throws -> T) throws -> T {
        try turn.withLock { _ in
            try run("BEGIN")
            do {
                let result = try body(PGTransaction(link: self))
                try run("COMMIT")
                return result
            } catch {
                _ = try? run("ROLLBACK")
                throw error
            }
        }
    }

    /// Runs one statement for an async caller.
    @discardableResult
    package func read(_ query: PostgresQuery) async throws -> PGResult {
        do {
            let c = try await connection()
            let future: EventLoopFuture<PostgresQueryResult> = c.query(query, logger: logger)
            return PGResult(try await future.get())
        } catch {
            dropIfBroken(error)
            throw error
        }
    }

    /// Runs `body` in one transaction for an async caller, on a thread of its own (it blocks).
    /// Only for links that no async `read` uses, or another caller's statement could land
    /// inside the transaction.
    @discardableResult
    package func transactionOffThread<T: Sendable>(_ body: @escaping @Sendable (PGTransaction) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { [self] in
                continuation.resume(with: Result { try transaction(body) })
            }
        }
    }

    /// Closes a connection without waiting; the closure keeps it alive until it is closed
    /// (postgres-nio requires a connection be closed before it is released).
    private static func discard(_ connection: PostgresConnection) {
        let closing: EventLoopFuture<Void> = connection.close()
        closing.whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    deinit {
        if let open = current.withLock({ $0 }) { Self.discard(open) }
    }

    /// Closes the connection, waiting for it; later calls fail (`shutting_down`). With `releasingAdvisoryLocks`, its session's
    /// advisory locks are released first, so another connection can take them at once (a closed
    /// connection's server process releases them only as it exits, a moment later).
    package func close(releasingAdvisoryLocks: Bool = false) {
        let old = current.withLock { c -> PostgresConnection? in
            closed.store(true, ordering: .releasing)
            defer { c = nil }
            return c
        }
        guard let old else { return }
        if releasingAdvisoryLocks, !old.isClosed {
            let unlocking: EventLoopFuture<PostgresQueryResult> = old.query("SELECT pg_advisory_unlock_all()", logger: logger)
            _ = try? unlocking.wait()
        }
        let closing: EventLoopFuture<Void> = old.close()
        _ = try? closing.wait()
    }

    /// Runs statements inside a `transaction`.
    package struct PGTransaction {
        let link: PGLink
        @discardableResult
        package func query(_ query: PostgresQuery) throws -> PGResult { try link.run(query) }
    }
}

/// A statement's rows and the number of rows it changed.
package struct PGResult {
    package let rows: [PGRow]
    /// Rows inserted, updated or deleted (from the command tag).
    package let affected: Int

    init(_ result: PostgresQueryResult) {
        rows = result.rows.map { PGRow(cells: $0.makeRandomAccess()) }
        affected = result.metadata.rows ?? 0
    }

    package var first: PGRow? { rows.first }
}

/// One row, read by column position.
package struct PGRow {
    let cells: PostgresRandomAccessRow

    package func int64(_ i: Int) throws -> Int64? { try cells[i].decode(Int64?.self) }
    package func int(_ i: Int) throws -> Int? { try cells[i].decode(Int?.self) }
    package func text(_ i: Int) throws -> String? { try cells[i].decode(String?.self) }
    package func bool(_ i: Int) throws -> Bool? { try cells[i].decode(Bool?.self) }
    package func bytes(_ i: Int) throws -> [UInt8]? {
        try cells[i].decode(ByteBuffer?.self).map { Array($0.readableBytesView) }
    }
    /// A `bytea` column holding UTF-8 text (event ids: PostgreSQL's text cannot hold NUL).
    package func utf8(_ i: Int) throws -> String? { try bytes(i).map { String(decoding: $0, as: UTF8.self) } }
}

extension ByteBuffer {
    /// The bytes of `text`, for a `bytea` parameter.
    package static func utf8(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
    package static func bytes(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }
}

/// What a PostgreSQL failure means to a client.
package enum PGFault {
    /// Whether the error lost the connection (or never had one): the next statement reconnects.
    package static func isConnectionLevel(_ error: any Error) -> Bool {
        guard let psql = error as? PSQLError else { return !(error is PostgresDecodingError) }
        switch psql.code {
        case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection, .sslUnsupported,
            .failedToAddSSLHandler, .messageDecodingFailure, .unexpectedBackendMessage:
            return true
        case .server:
            let state = psql.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("57P")
        default:
            return false
        }
    }

    /// The SQLSTATE of a server error, if it is one.
    package static func sqlState(_ error: any Error) -> String? {
        guard let psql = error as? PSQLError, psql.code == .server else { return nil }
        return psql.serverInfo?[.sqlState]
    }

    /// Whether the transaction lost a race with another replica and may simply run again.
    package static func isRetryable(_ error: any Error) -> Bool {
        error is RacedInsert || ["40001", "40P01"].contains(sqlState(error) ?? "")
    }

    /// Another replica stored a prediction id this transaction was storing too.
    package struct RacedInsert: Error {}

    /// The condition behind an error a client can wait out, with how long; `nil` for any other.
    package static func condition(of error: any Error) -> StorageUnavailable? {
        if let failure = error as? StorageUnavailable { return failure }
        if error is RacedInsert { return StorageUnavailable(.locked, retryAfterSeconds: 1) }
        if let state = sqlState(error) {
            switch state {
            case "53100": return StorageUnavailable(.diskFull, retryAfterSeconds: 30)
            case "25006": return StorageUnavailable(.readOnly, retryAfterSeconds: 30)
            case "40001", "40P01", "55P03", "57014": return StorageUnavailable(.locked, retryAfterSeconds: 1)
            case "53200", "53300": return StorageUnavailable(.overloaded, retryAfterSeconds: 5)
            case "58030": return StorageUnavailable(.ioError, retryAfterSeconds: 5)
            default:
                return state.hasPrefix("08") || state.hasPrefix("57P")
                    ? StorageUnavailable(.unreachable, retryAfterSeconds: 5) : nil
            }
        }
        return isConnectionLevel(error) ? StorageUnavailable(.unreachable, retryAfterSeconds: 5) : nil
    }
}
