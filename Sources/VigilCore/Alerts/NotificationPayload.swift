import Foundation
/// Wire bodies of notifications (DESIGN §7).
public enum NotificationPayload {
    /// Alertmanager's zero time, which its webhook sends as `endsAt` of firing alerts.
    static let zeroTime = "0001-01-01T00:00:00Z"

    /// The Alertmanager webhook body, version 4, plus `notification_reason`.
    public static func webhook(_ n: PlannedNotification, receiver: String, externalURL: String) -> JSONValue {
        let alerts = n.alerts.sorted { $0.fingerprint < $1.fingerprint }
        let common = { (pick: (Alert) -> [String: String]) -> JSONValue in
            guard let first = alerts.first else { return .object([]) }
            let shared = pick(first).filter { pair in alerts.allSatisfy { pick($0)[pair.key] == pair.value } }
            return labels(shared)
        }
        return .object([
            ("version", .string("4")), ("groupKey", .string(n.group.key)), ("truncatedAlerts", .number(0)),
            ("status", .string(n.status == .firing ? "firing" : "resolved")), ("receiver", .string(receiver)),
            ("groupLabels", labels(n.group.groupLabels)), ("commonLabels", common(\.labels)),
            ("commonAnnotations", common(\.annotations)), ("externalURL", .string(externalURL)),
            ("alerts", .array(alerts.map { alert($0, externalURL: externalURL) })),
            ("notification_reason", .string(n.reason.rawValue)),
        ])
    }

    static func alert(_ a: Alert, externalURL: String) -> JSONValue {
        .object([
            ("status", .string(a.state == .resolved ? "resolved" : "firing")), ("labels", labels(a.labels)),
            ("annotations", labels(a.annotations)), ("startsAt", .string(Timestamp.format(a.firedAt ?? a.activeAt))),
            ("endsAt", .string(a.resolvedAt.map(Timestamp.format) ?? zeroTime)),
            ("generatorURL", .string(generatorURL(a, externalURL: externalURL))),
            ("fingerprint", .string(a.fingerprint)),
        ])
    }

    /// Alertmanager's `POST /api/v2/alerts` body, as Prometheus sends it: firing alerts with
    /// `endsAt` = `validUntil` (Alertmanager resolves them itself if Vigil goes quiet), resolved
    /// ones with their resolution time.
    public static func alertmanager(_ alerts: [Alert], validUntil: Int64, externalURL: String) -> JSONValue {
        .array(
            alerts.sorted { $0.fingerprint < $1.fingerprint }.map { a in
                .object([
                    ("labels", labels(a.labels)), ("annotations", labels(a.annotations)),
                    ("startsAt", .string(Timestamp.format(a.firedAt ?? a.activeAt))),
                    ("endsAt", .string(Timestamp.format(a.resolvedAt ?? validUntil))),
                    ("generatorURL", .string(generatorURL(a, externalURL: externalURL))),
                ])
            })
    }

    /// The console page that shows what fired: the model page for the rule's window, or the
    /// comparison page of a comparison rule's two sides.
    static func generatorURL(_ a: Alert, externalURL: String) -> String {
        var query: [String] = []
        var path = "/console/models/\(PercentEncoding.component(a.model))"
        if let baseline = a.labels["baseline"], let candidate = a.labels["candidate"] {
            path += "/compare"
            query += ["baseline=\(PercentEncoding.component(baseline))", "candidate=\(PercentEncoding.component(candidate))"]
        }
        if let window = a.annotations["window"] { query.append("window=\(PercentEncoding.component(window))") }
        return externalURL + path + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
    }

    static func labels(_ map: [String: String]) -> JSONValue {
        .object(map.keys.sorted().map { ($0, .string(map[$0]!)) })
    }
}
