import Foundation
import Testing

@testable import VigilCore

@Suite struct AlertBookTests {
    static func rule(for millis: Int64 = 600_000, minSamples: Int = 100) -> AlertRuleConfig {
        var r = AlertRuleConfig(
            name: "FeatureDrift", metric: "feature_drift_psi", op: .greater, threshold: 0.2,
            window: TimeLength(millis: 3_600_000, text: "1h"))
        r.forDuration = TimeLength(millis: millis, text: "10m")
        r.minSamples = minSamples
        r.summary = "PSI of {{ $labels.feature }} on {{ $labels.model }} is {{ $value }}"
        return r
    }

    static func psi(_ values: [String: Double]) -> [GaugeSample] {
        values.map { GaugeSample(family: "vigil_feature_drift_psi", labels: [("feature", $0.key)], value: $0.value) }
    }

    /// Each step: instant (minutes), PSI of `amount`, window count, expected state afterwards.
    @Test func pendingThenFiringThenResolved() {
        var book = AlertStateMachine()
        let steps: [(minute: Int64, psi: Double, count: Int, state: AlertState?)] = [
            (0, 0.1, 500, nil),  // condition false: inactive
            (1, 0.3, 500, .pending),  // true: pending
            (6, 0.4, 500, .pending),  // 5 min < for (10 min)
            (10, 0.4, 50, .pending),  // below min_samples: not evaluated, state kept
            (11, 0.35, 500, .firing),  // 10 min after activeAt
            (20, 0.5, 500, .firing),
            (21, 0.1, 500, nil),  // resolves
        ]
        var lastTransitions: [AlertTransition] = []
        for step in steps {
            lastTransitions = book.evaluate(
                Self.rule(), model: "fraud", samples: Self.psi(["amount": step.psi]), count: step.count,
                at: step.minute * 60_000)
            #expect(book.active.values.first?.state == step.state, "minute \(step.minute)")
            if step.minute == 11 {
                #expect(lastTransitions.map(\.to) == [.firing])
                let alert = book.active.values.first!
                #expect(alert.activeAt == 60_000 && alert.firedAt == 660_000)
                #expect(alert.annotations["summary"] == "PSI of amount on fraud is 0.35")
                #expect(
                    alert.labels == [
                        "alertname": "FeatureDrift", "model": "fraud", "severity": "warning", "feature": "amount",
                    ])
            }
        }
        #expect(lastTransitions.count == 1)
        #expect(lastTransitions[0].to == .resolved && lastTransitions[0].alert.resolvedAt == 21 * 60_000)
    }

    @Test func pendingThatStopsHoldingIsDroppedNotResolved() {
        var book = AlertStateMachine()
        _ = book.evaluate(Self.rule(), model: "m", samples: Self.psi(["a": 0.3]), count: 500, at: 0)
        let t = book.evaluate(Self.rule(), model: "m", samples: Self.psi(["a": 0.1]), count: 500, at: 60_000)
        #expect(book.active.isEmpty)
        #expect(t.map(\.to) == [nil])
    }

    @Test func zeroForFiresAtOnceAndEachFeatureIsItsOwnAlert() {
        var book = AlertStateMachine()
        let t = book.evaluate(
            Self.rule(for: 0), model: "m", samples: Self.psi(["a": 0.3, "b": 0.9, "c": 0.0]), count: 500, at: 0)
        #expect(book.active.count == 2)
        #expect(book.active.values.allSatisfy { $0.state == .firing })
        #expect(t.filter { $0.to == .firing }.count == 2)
    }

    @Test func selectorsNarrowTheSeries() {
        var rule = Self.rule(for: 0)
        rule.selectors = ["feature": "b"]
        var book = AlertStateMachine()
        _ = book.evaluate(rule, model: "m", samples: Self.psi(["a": 0.3, "b": 0.9]), count: 500, at: 0)
        #expect(book.active.values.map { $0.labels["feature"] } == ["b"])
    }

    @Test func stateSurvivesEncodingAsARestartWould() throws {
        var book = AlertStateMachine()
        _ = book.evaluate(Self.rule(), model: "m", samples: Self.psi(["a": 0.3]), count: 500, at: 0)
        let stored = try JSONDecoderLike.roundTrip(Array(book.active.values))
        var restored = AlertStateMachine(active: stored)
        #expect(restored == book)
        let t = restored.evaluate(Self.rule(), model: "m", samples: Self.psi(["a": 0.3]), count: 500, at: 600_000)
        #expect(t.map(\.to) == [.firing])
    }
}

@Suite struct NotificationPlannerTests {
    static func alert(_ name: String, _ state: AlertState, at t: Int64) -> Alert {
        var a = Alert(
            rule: "R", model: "m", labels: ["alertname": "R", "model": "m", "feature": name], annotations: [:],
            state: state, activeAt: 0, value: 1)
        if state == .resolved { a.resolvedAt = t }
        return a
    }

    static func group(firing: [String], resolved: [String], at t: Int64) -> AlertGroup {
        AlertGroup(
            rule: "R", model: "m", firing: firing.map { alert($0, .firing, at: t) },
            resolved: resolved.map { alert($0, .resolved, at: t) })
    }

    /// Each step: instant (minutes), firing and resolved alerts of the group, the reason expected.
    @Test(arguments: [true, false]) func newRepeatUpdateResolved(sendResolved: Bool) {
        var config = NotifierConfig(type: .webhook, url: "http://127.0.0.1:1/")
        config.repeatInterval = TimeLength(millis: 3_600_000, text: "1h")
        config.sendResolved = sendResolved
        var planner = NotificationPlanner()
        let steps: [(minute: Int64, firing: [String], resolved: [String], reason: NotificationReason?)] = [
            (0, ["a"], [], .new),
            (1, ["a"], [], nil),
            (59, ["a"], [], nil),
            (60, ["a"], [], .repeat),
            (61, ["a", "b"], [], .update),
            (62, ["b"], ["a"], sendResolved ? .resolved : nil),
            (63, ["b"], ["a"], nil),
            (64, [], ["a", "b"], sendResolved ? .resolved : nil),
            (65, [], ["a", "b"], nil),
        ]
        for step in steps {
            let planned = planner.plan(
                notifier: "oncall", config: config,
                groups: [Self.group(firing: step.firing, resolved: step.resolved, at: step.minute * 60_000)],
                at: step.minute * 60_000)
            #expect(planned.first?.reason == step.reason, "minute \(step.minute)")
            if let n = planned.first, !sendResolved { #expect(n.alerts.allSatisfy { $0.state == .firing }) }
        }
        #expect(planner.log["oncall"]?.values.first.map(\.firing) == [])
    }

    @Test func webhookBodyHasTheAlertmanagerShape() throws {
        var config = NotifierConfig(type: .webhook, url: "http://127.0.0.1:1/")
        config.sendResolved = true
        var planner = NotificationPlanner()
        let n = try #require(
            planner.plan(
                notifier: "oncall", config: config, groups: [Self.group(firing: ["a"], resolved: ["b"], at: 0)], at: 0
            ).first)
        let body = NotificationPayload.webhook(n, receiver: "oncall", externalURL: "http://127.0.0.1:9750")
        let keys = body.objectValue!.members.map(\.key)
        #expect(
            keys == [
                "version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels", "commonLabels",
                "commonAnnotations", "externalURL", "alerts", "notification_reason",
            ])
        #expect(body.objectValue!["version"] == .string("4"))
        #expect(body.objectValue!["groupKey"] == .string(#"{}:{alertname="R", model="m"}"#))
        guard case .array(let alerts)? = body.objectValue!["alerts"] else {
            Issue.record("no alerts")
            return
        }
        #expect(alerts.count == 2)
        let ends = alerts.compactMap { $0.objectValue?["endsAt"]?.stringValue }
        #expect(ends.contains("0001-01-01T00:00:00Z"))
    }
}

/// Encodes and decodes through JSON, as the store persists alerts.
enum JSONDecoderLike {
    static func roundTrip(_ alerts: [Alert]) throws -> [Alert] {
        let data = try JSONEncoderShim.encode(alerts)
        return try JSONEncoderShim.decode(data)
    }
}

enum JSONEncoderShim {
    static func encode(_ alerts: [Alert]) throws -> Data { try JSONEncoder().encode(alerts) }
    static func decode(_ data: Data) throws -> [Alert] { try JSONDecoder().decode([Alert].self, from: data) }
}

/// Notifications link to the console page that shows what fired (issue 15).
@Suite struct GeneratorURLTests {
    @Test func aGaugeRuleLinksToTheModelPageOfItsWindow() {
        let a = Alert(
            rule: "FeatureDrift", model: "fraud.v2", labels: ["alertname": "FeatureDrift", "feature": "amount"],
            annotations: ["window": "1h"], state: .firing, activeAt: 0, value: 0.4)
        #expect(
            NotificationPayload.generatorURL(a, externalURL: "http://vigil:9750")
                == "http://vigil:9750/console/models/fraud.v2?window=1h")
    }

    @Test func aComparisonRuleLinksToItsComparisonPage() {
        let a = Alert(
            rule: "CanaryRollback", model: "fraud",
            labels: ["baseline": "variant:control", "candidate": "version:v2,variant:canary", "verdict": "rollback"],
            annotations: ["window": "30m"], state: .firing, activeAt: 0, value: 1)
        #expect(
            NotificationPayload.generatorURL(a, externalURL: "http://127.0.0.1:9750")
                == "http://127.0.0.1:9750/console/models/fraud/compare?baseline=variant%3Acontrol&candidate=version%3Av2%2Cvariant%3Acanary&window=30m")
    }
}
