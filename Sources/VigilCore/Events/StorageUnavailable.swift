/// Storage cannot take writes right now, for a reason the client can act on: retry after
/// `retryAfterSeconds`. The server answers it as `503` with `Retry-After` and the reason code,
/// never with the underlying error's text.
public struct StorageUnavailable: Error, Sendable, Equatable, CustomStringConvertible {
    /// Why writes are refused; the raw value is the reason code clients and `/readyz` see.
    public enum Reason: String, Sendable, CaseIterable {
        /// The disk (or the database's page limit) is full.
        case diskFull = "disk_full"
        /// The database file or its directory is not writable.
        case readOnly = "read_only"
        /// Another process holds a lock on the database for longer than the busy timeout.
        case locked = "database_locked"
        /// The operating system reported an I/O error.
        case ioError = "io_error"
        /// The write or fold queue is full: clients outpace the disk.
        case overloaded = "overloaded"
        /// The shared database (PostgreSQL) cannot be reached, or is restarting.
        case unreachable = "database_unreachable"
        /// The service is shutting down.
        case shuttingDown = "shutting_down"
    }

    public var reason: Reason
    public var retryAfterSeconds: Int

    public init(_ reason: Reason, retryAfterSeconds: Int = 1) {
        self.reason = reason
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "storage unavailable: \(reason.rawValue)" }
}
