/// One queued notification.
public struct OutboxEntry: Sendable, Equatable {
    public var id: Int64
    public var notifier: String
    public var body: [UInt8]
    public var createdAt: Int64
    public var attempts: Int
    public var nextAttemptAt: Int64

    public init(id: Int64, notifier: String, body: [UInt8], createdAt: Int64, attempts: Int, nextAttemptAt: Int64) {
        self.id = id
        self.notifier = notifier
        self.body = body
        self.createdAt = createdAt
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
    }
}
