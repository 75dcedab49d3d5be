/// Whether storage takes writes, and its queue (readiness and gauges).
public protocol StorageHealth: Sendable {
    /// Why storage is not ready, or `nil` when it is.
    func unreadiness(at now: Int64) async -> StorageUnavailable?
    /// Whether the last write succeeded.
    var isWritable: Bool { get }
    /// Items waiting for the writer.
    var queuedWrites: Int { get }
    /// Lets queued writes commit, refuses new ones and closes.
    func close()
}
