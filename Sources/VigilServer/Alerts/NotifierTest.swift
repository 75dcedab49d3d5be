import AsyncHTTPClient
import Foundation
import VigilCore

/// `vigil test-notifier NAME`: sends one test alert straight to a notifier (not through the
/// outbox) and says what the receiver answered.
public enum NotifierTest {
    public static func send(name: String, config: VigilConfig, environment: [String: String], at now: Int64)
        async throws -> String
    {
        guard let notifier = config.notifiers[name] else {
            throw StartupError(
                "no notifier named '\(name)' (configured: \(config.notifiers.keys.sorted().joined(separator: ", ")))")
        }
        let secrets = try notifierSecrets(config, environment: environment)
        var alert = Alert(
            rule: "VigilTestNotification", model: "vigil-test",
            labels: ["alertname": "VigilTestNotification", "model": "vigil-test", "severity": "info"],
            annotations: ["summary": "Test notification from vigil test-notifier", "description": "Nothing is wrong."],
            state: .firing, activeAt: now, value: 1)
        alert.firedAt = now
        let group = AlertGroup(rule: alert.rule, model: alert.model, firing: [alert], resolved: [])
        let externalURL = "http://\(config.server.host):\(config.server.port)"
        let body: JSONValue
        switch notifier.type {
        case .webhook:
            let planned = PlannedNotification(
                notifier: name, group: group, reason: .new, alerts: [alert], status: .firing)
            body = NotificationPayload.webhook(planned, receiver: name, externalURL: externalURL)
        case .alertmanager:
            body = NotificationPayload.alertmanager([alert], validUntil: now + 300_000, externalURL: externalURL)
        case .http:
            guard let http = notifier.http else { throw StartupError("notifier '\(name)' has no request template") }
            body = http.render(alert, status: "firing")
        }
        let client = NotificationSender.makeClient()
        let sender = NotificationSender(
            client: client, notifiers: config.notifiers, secrets: secrets,
            environment: try notifierEnvironment(config, environment: environment))
        let outcome = await sender.send(JSONWriter.bytes(body), to: name)
        try await client.shutdown()
        switch outcome {
        case .delivered: return "delivered to \(NotificationSender.endpoint(notifier))"
        case .retry(let reason), .failed(let reason):
            throw StartupError("delivery to \(NotificationSender.endpoint(notifier)) failed: \(reason)")
        }
    }
}
