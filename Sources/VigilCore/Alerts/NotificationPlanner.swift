/// The alerts of one notification group (one rule on one model) at an evaluation.
public struct AlertGroup: Sendable {
    public var rule: String
    public var model: String
    public var firing: [Alert]
    /// Alerts resolved within the resolved retention, still worth telling about.
    public var resolved: [Alert]

    public init(rule: String, model: String, firing: [Alert], resolved: [Alert]) {
        self.rule = rule
        self.model = model
        self.firing = firing
        self.resolved = resolved
    }

    public var groupLabels: [String: String] { ["alertname": rule, "model": model] }

    /// Alertmanager's group key shape: `{}:{alertname="…", model="…"}`.
    public var key: String { "{}:{alertname=\"\(rule)\", model=\"\(model)\"}" }
}

/// What was last sent for a group to one notifier (Alertmanager's notification log entry).
public struct NotificationRecord: Sendable, Equatable, Codable {
    public var firing: [String]
    public var resolved: [String]
    public var sentAt: Int64

    enum CodingKeys: String, CodingKey {
        case firing, resolved
        case sentAt = "sent_at"
    }
}

/// Why a notification goes out (the webhook's `notification_reason`).
public enum NotificationReason: String, Sendable, Equatable {
    /// The group's first notification.
    case new
    /// Alerts started firing that the last notification did not carry.
    case update
    /// Alerts resolved since the last notification.
    case resolved
    /// Nothing changed, `repeat_interval` passed.
    case `repeat`
}

/// A decided notification: the group as it should be sent.
public struct PlannedNotification: Sendable {
    public var notifier: String
    public var group: AlertGroup
    public var reason: NotificationReason
    /// Alerts to send (resolved ones only with `send_resolved`).
    public var alerts: [Alert]
    public var status: AlertState

    public init(notifier: String, group: AlertGroup, reason: NotificationReason, alerts: [Alert], status: AlertState) {
        self.notifier = notifier
        self.group = group
        self.reason = reason
        self.alerts = alerts
        self.status = status
    }
}

/// Decides, per notifier and group, whether to notify now: Alertmanager's dedup stage
/// (`notify.DedupStage.needsUpdate`) — notify a new group with firing alerts at once, again when
/// alerts start firing that were not sent, when alerts resolved (with `send_resolved`), or when
/// `repeat_interval` has passed; record what was sent.
public struct NotificationPlanner: Sendable, Equatable {
    /// Notifier name → group key → last notification.
    public var log: [String: [String: NotificationRecord]] = [:]

    public init(log: [String: [String: NotificationRecord]] = [:]) { self.log = log }

    public mutating func plan(
        notifier: String, config: NotifierConfig, groups: [AlertGroup], at now: Int64
    ) -> [PlannedNotification] {
        var out: [PlannedNotification] = []
        var seen = Set<String>()
        for group in groups {
            seen.insert(group.key)
            let firing = Set(group.firing.map(\.fingerprint))
            let resolved = Set(group.resolved.map(\.fingerprint))
            let entry = log[notifier]?[group.key]
            guard let reason = Self.reason(entry, firing, resolved, config: config, at: now) else { continue }
            log[notifier, default: [:]][group.key] = NotificationRecord(
                firing: firing.sorted(), resolved: resolved.sorted(), sentAt: now)
            let alerts = group.firing + (config.sendResolved ? group.resolved : [])
            // All resolved without send_resolved: the log is cleared, nothing is sent.
            guard !alerts.isEmpty else { continue }
            out.append(
                PlannedNotification(
                    notifier: notifier, group: group, reason: reason, alerts: alerts,
                    status: group.firing.isEmpty ? .resolved : .firing))
        }
        // Groups that are gone (nothing firing, resolved ones aged out) leave the log once
        // their last notification carried no firing alert.
        for (key, entry) in log[notifier] ?? [:] where !seen.contains(key) && entry.firing.isEmpty {
            log[notifier]![key] = nil
        }
        return out
    }

    static func reason(
        _ entry: NotificationRecord?, _ firing: Set<String>, _ resolved: Set<String>, config: NotifierConfig,
        at now: Int64
    ) -> NotificationReason? {
        guard let entry else { return firing.isEmpty ? nil : .new }
        if !firing.isSubset(of: Set(entry.firing)) { return .update }
        if firing.isEmpty { return entry.firing.isEmpty ? nil : .resolved }
        if config.sendResolved, !resolved.isSubset(of: Set(entry.resolved)) { return .resolved }
        return now - entry.sentAt >= config.repeatInterval.millis ? .repeat : nil
    }
}
