/// The changes of one alert evaluation, written in one transaction.
public struct AlertChanges: Sendable {
    /// Active alerts to insert or update.
    public var upserts: [Alert] = []
    /// Pending alerts that stopped holding (deleted).
    public var dropped: [Alert] = []
    /// Alerts that resolved (their row becomes history).
    public var resolved: [Alert] = []
    /// Notification log entries written, or removed (`nil`).
    public var log: [(notifier: String, group: String, record: NotificationRecord?)] = []
    /// Notifications to queue: notifier and body.
    public var outbox: [(notifier: String, body: [UInt8])] = []

    public init() {}

    public var isEmpty: Bool {
        upserts.isEmpty && dropped.isEmpty && resolved.isEmpty && log.isEmpty && outbox.isEmpty
    }
}
