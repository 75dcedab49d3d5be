/// Durable alert state: the rule state machine's active alerts, the notification log and history.
public protocol AlertStore: Sendable {
    /// Active alerts and the notification log, as the last evaluation left them.
    func loadAlertState() throws -> (active: [Alert], log: [String: [String: NotificationRecord]])
    /// Writes one evaluation's alert changes, notification log and queued notifications together.
    func save(_ changes: AlertChanges, at now: Int64) async throws
    /// Stored alerts in `states`, newest first.
    func alerts(states: [AlertState], limit: Int) async throws -> [Alert]
}

/// The notification outbox: queued notifications delivered at least once, in order per notifier.
public protocol Outbox: Sendable {
    /// The oldest undelivered notification of a notifier.
    func outboxHead(of notifier: String) async throws -> OutboxEntry?
    /// Bodies of pending notifications of a notifier queued after `id`.
    func pendingBodies(of notifier: String, after id: Int64, limit: Int) async throws -> [[UInt8]]
    /// Notifiers with pending notifications.
    func outboxNotifiers() async throws -> [String]
    /// Records a delivery: done, to retry at `retryAt`, or failed for good.
    func settle(_ id: Int64, delivered: Bool, retryAt: Int64?, error: String?) async throws
}
