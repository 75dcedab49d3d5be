/// Which replica evaluates alert rules, records verdict changes, builds default references and
/// delivers the outbox (DESIGN §9): one at a time. A single process always leads.
public protocol Leadership: Sendable {
    /// This replica's id.
    var replica: String { get }
    /// Whether this replica led at the last `refresh`.
    var isLeader: Bool { get }
    /// Checks leadership (taking it when it is free); `gained` when this replica did not lead before.
    func refresh() async -> (leading: Bool, gained: Bool)
}

/// The one process of a SQLite file: always the leader.
public struct SoleLeader: Leadership {
    public let replica: String
    public init(replica: String) { self.replica = replica }
    public var isLeader: Bool { true }
    public func refresh() async -> (leading: Bool, gained: Bool) { (true, false) }
}
