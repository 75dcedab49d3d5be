import Foundation
import Testing
import VigilCore

@testable import VigilServer

/// The `http` notifier (issue 12, DESIGN §7): every README example for turning a flag off is
/// parsed, rendered for an alert and sent to a local receiver, which checks method, path,
/// headers and body; secrets come from the environment and never reach the outbox.
@Suite struct HTTPNotifierTests {
    struct Expected {
        var method: String
        var path: String
        var headers: [String: String]
        var body: JSONValue?
    }

    static let environment = [
        "UNLEASH_TOKEN": "unleash-secret", "GROWTHBOOK_KEY": "gb-secret", "LD_API_TOKEN": "ld-secret",
        "CONFIGCAT_ENVIRONMENT": "env-1", "CONFIGCAT_SETTING": "42", "CONFIGCAT_BASIC_AUTH": "Y2M6c2VjcmV0",
        "STATSIG_CONSOLE_KEY": "console-secret", "FLIPT_TOKEN": "flipt-secret", "KUBE_TOKEN": "kube-secret",
    ]

    static let summary = #"fraud canary: verdict rollback ("quality_precision fell")"#

    static func json(_ text: String) -> JSONValue? { try? JSONParser.parse(Array(text.utf8)) }

    static let expected: [String: Expected] = [
        "unleash": Expected(
            method: "POST", path: "/api/admin/projects/default/features/fraud-canary/environments/production/off",
            headers: ["authorization": "unleash-secret"], body: nil),
        "growthbook": Expected(
            method: "POST", path: "/api/v2/features/fraud-canary/toggle",
            headers: ["authorization": "Bearer gb-secret", "content-type": "application/json"],
            body: .object([
                ("environments", .object([("production", .bool(false))])), ("reason", .string(summary)),
            ])),
        "launchdarkly": Expected(
            method: "PATCH", path: "/api/v2/flags/default/fraud-canary",
            headers: [
                "authorization": "ld-secret", "content-type": "application/json; domain-model=launchdarkly.semanticpatch",
            ],
            body: .object([
                ("environmentKey", .string("production")), ("comment", .string(summary)),
                ("instructions", .array([.object([("kind", .string("turnFlagOff"))])])),
            ])),
        "configcat": Expected(
            method: "PATCH", path: "/v1/environments/env-1/settings/42/value",
            headers: ["authorization": "Basic Y2M6c2VjcmV0", "content-type": "application/json"],
            body: json(#"[{"op": "replace", "path": "/value", "value": false}]"#)),
        "statsig": Expected(
            method: "PUT", path: "/console/v1/gates/fraud_canary/disable",
            headers: ["statsig-api-key": "console-secret"], body: nil),
        "flipt": Expected(
            method: "PUT", path: "/api/v1/namespaces/default/flags/fraud-canary",
            headers: ["authorization": "Bearer flipt-secret", "content-type": "application/json"],
            body: json(#"{"key": "fraud-canary", "name": "fraud canary", "enabled": false}"#)),
        "openfeature": Expected(
            method: "PATCH", path: "/apis/core.openfeature.dev/v1beta1/namespaces/serving/featureflags/fraud-flags",
            headers: ["authorization": "Bearer kube-secret", "content-type": "application/merge-patch+json"],
            body: json(#"{"spec": {"featureFlagSpec": {"flags": {"fraud-canary": {"defaultVariant": "off"}}}}}"#)),
    ]

    /// The README's examples: each ```yaml block after an `http-notifier-example NAME` marker.
    static func readmeExamples() throws -> [(name: String, yaml: String)] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: url, encoding: .utf8)
        var out: [(String, String)] = []
        for part in text.components(separatedBy: "<!-- http-notifier-example ").dropFirst() {
            let name = String(part.prefix { $0 != " " })
            guard let start = part.range(of: "```yaml\n"), let end = part.range(of: "\n```", range: start.upperBound..<part.endIndex)
            else { continue }
            out.append((name, String(part[start.upperBound..<end.lowerBound])))
        }
        return out
    }

    static var alert: Alert {
        var alert = Alert(
            rule: "CanaryRollback", model: "fraud",
            labels: ["alertname": "CanaryRollback", "model": "fraud", "severity": "critical", "verdict": "rollback"],
            annotations: ["summary": summary], state: .firing, activeAt: 0, value: 1)
        alert.firedAt = 0
        return alert
    }

    @Test func everyReadmeExampleSendsTheRequestItsFlagSystemExpects() async throws {
        let examples = try Self.readmeExamples()
        #expect(Set(examples.map(\.name)) == Set(Self.expected.keys))
        let receiver = FaultyReceiver()
        try await receiver.whileRunning {
            let port = receiver.port.withLock { $0 }
            for (name, yaml) in examples {
                // The example's host becomes the local receiver.
                let local = yaml.replacingOccurrences(
                    of: #"https://[^/]+"#, with: "http://127.0.0.1:\(port)", options: .regularExpression)
                let config = try ConfigLoader.parse(yaml: local)
                let notifier = try #require(config.notifiers["flag_off"], "\(name)")
                let http = try #require(notifier.http)
                let stored = JSONWriter.bytes(http.render(Self.alert, status: "firing"))
                // The outbox holds the request with env references, never the secrets.
                let storedText = String(decoding: stored, as: UTF8.self)
                for secret in Self.environment.values where secret.count > 3 {
                    #expect(!storedText.contains(secret), "\(name) stored a secret")
                }
                let sender = NotificationSender(
                    client: NotificationSender.makeClient(), notifiers: config.notifiers, secrets: [:],
                    environment: try notifierEnvironment(config, environment: Self.environment))
                let before = receiver.received.withLock { $0.count }
                #expect(await sender.send(stored, to: "flag_off") == .delivered("HTTP 200"), "\(name)")
                try await sender.client.shutdown()
                let request = try #require(receiver.received.withLock { $0.count > before ? $0.last : nil }, "\(name)")
                let want = try #require(Self.expected[name])
                #expect(request.method == want.method, "\(name)")
                #expect(request.path == want.path, "\(name)")
                for (header, value) in want.headers {
                    #expect(request.headers[header] == value, "\(name) \(header): \(request.headers[header] ?? "none")")
                }
                if let body = want.body {
                    #expect(Self.json(request.body) == body, "\(name) body: \(request.body)")
                } else {
                    #expect(request.body.isEmpty, "\(name) body: \(request.body)")
                }
            }
        }
    }

    /// A value from the alert cannot reach the environment or add a path segment, a header or
    /// a JSON member.
    @Test func alertValuesAreEscapedAndCannotReadTheEnvironment() throws {
        let yaml = """
            notifiers:
              hook:
                type: http
                url: "http://127.0.0.1:1/flags/{{ $labels.model }}"
                headers: {X-Reason: '{{ $annotations.summary }}', Authorization: '{{ env "TOKEN" }}'}
                body: '{"reason": "{{ $annotations.summary }}"}'
            """
        let config = try ConfigLoader.parse(yaml: yaml)
        let http = try #require(config.notifiers["hook"]?.http)
        var alert = Self.alert
        alert.labels["model"] = "../admin?x=1"
        alert.annotations["summary"] = "a\r\nX-Injected: 1 \"q\" {{ env \"TOKEN\" }}"
        let stored = JSONWriter.bytes(http.render(alert, status: "firing"))
        let request = try #require(NotificationSender.request(stored: stored, environment: ["TOKEN": "secret"]))
        #expect(request.url == "http://127.0.0.1:1/flags/..%2Fadmin%3Fx%3D1")
        #expect(request.headers["X-Reason"].first == #"aX-Injected: 1 "q" {{ env "TOKEN" }}"#)
        #expect(request.headers["Authorization"].first == "secret")
        #expect(request.headers["X-Injected"].isEmpty)
        #expect(!String(decoding: stored, as: UTF8.self).contains("secret"))
    }

    @Test func startUpRefusesATemplateNamingAnUnsetVariable() throws {
        let config = try ConfigLoader.parse(
            yaml: "notifiers:\n  hook: {type: http, url: 'http://127.0.0.1:1/{{ env \"MISSING\" }}'}\n")
        #expect(throws: StartupError.self) { try notifierEnvironment(config, environment: [:]) }
        for (bad, message) in [
            ("{type: http, url: 'http://x/{{ $nope }}'}", "unknown expression"),
            ("{type: http, url: 'http://x/{{ env MISSING }}'}", "quoted variable name"),
            ("{type: http, url: 'http://x/', on: [sometimes]}", "must list firing"),
            ("{type: http, url: 'http://x/', method: TRACE}", "method must be"),
            ("{type: webhook, url: 'http://x/', body: 'x'}", "applies only to type: http"),
            ("{type: http, url: 'http://x/{{ $value'}", "without '}}'"),
        ] {
            do {
                _ = try ConfigLoader.parse(yaml: "notifiers:\n  hook: \(bad)\n")
                Issue.record("accepted \(bad)")
            } catch {
                #expect("\(error)".contains(message), "\(bad): \(error)")
            }
        }
    }
}

extension HTTPNotifierTests {
    /// One-way by default: when the comparison alert resolves, the flag is not turned back on;
    /// a notifier with `on: [firing, resolved]` hears both.
    @Test func aResolvedAlertDoesNotTurnTheFlagBackOn() async throws {
        let off = FaultyReceiver()
        let both = FaultyReceiver()
        try await off.whileRunning {
            try await both.whileRunning {
                let yaml = """
                    models:
                      fraud: {task: binary, positive_class: fraud, release: {min_samples: 100}}
                    alerts:
                      - {name: CanaryRollback, model: fraud, compare: {baseline: "variant:control", candidate: "variant:canary"}, verdict: rollback, window: 1h, notify: [off, both]}
                    notifiers:
                      off: {type: http, url: "http://127.0.0.1:\(off.port.withLock { $0 })/flags/{{ $labels.model }}/off"}
                      both:
                        type: http
                        url: "http://127.0.0.1:\(both.port.withLock { $0 })/flags/{{ $labels.model }}/{{ $status }}"
                        body: '{"status": "{{ $status }}", "verdict": "{{ $labels.verdict }}"}'
                        on: [firing, resolved]
                    """
                let config = try ConfigLoader.parse(yaml: yaml)
                let clock = ManualClock(CompareTests.t0)
                try await withEngineApp(config, clock: clock) { client, engine in
                    try await CompareTests.send(
                        [
                            CompareTests.side("b", n: 2_000, precision: 0.85, variant: "control", seed: 21),
                            CompareTests.side("c", n: 2_000, precision: 0.60, variant: "canary", seed: 22),
                        ], to: client)
                    await engine.evaluate(at: clock.now)
                    try await HTTP.eventually(.seconds(20), "the firing requests") {
                        off.posts.count == 1 && both.posts.count == 1
                    }
                    #expect(off.posts.first?.path == "/flags/fraud/off")
                    #expect(both.posts.first.map { Self.json($0.body) } == Self.json(#"{"status": "firing", "verdict": "rollback"}"#))
                    // Three hours on, the window is empty: the verdict is no longer rollback.
                    clock.advance(byMillis: 3 * 3_600_000)
                    await engine.evaluate(at: clock.now)
                    try await HTTP.eventually(.seconds(20), "the resolved request") { both.posts.count == 2 }
                    #expect(both.posts.last?.path == "/flags/fraud/resolved")
                    try await Task.sleep(for: .seconds(1))
                    #expect(off.posts.count == 1, "the flag was turned back on")
                    let (_, alerts, _) = try await client.send(.get, "/v1/alerts?state=firing")
                    #expect(alerts?["alerts"]?.array.isEmpty == true)

                    // The audit trail: rollback, then inconclusive, and every answer the notifiers got.
                    let (status, log, text) = try await client.send(.get, "/v1/models/fraud/releases")
                    #expect(status == .ok, "\(text)")
                    let events = try #require(log?["events"]?.array)
                    let verdicts = events.filter { $0["kind"]?.stringValue == "verdict" }
                    #expect(verdicts.compactMap { $0["verdict"]?.stringValue } == ["inconclusive", "rollback"])
                    #expect(verdicts.first?["previous"]?.stringValue == "rollback")
                    #expect(verdicts.last?["previous"] == .null)
                    #expect(verdicts.last?["detail"]?.stringValue?.hasPrefix("quality_") == true)
                    let answers = events.filter { $0["kind"]?.stringValue == "notification" }
                    #expect(answers.count == 3)
                    #expect(answers.allSatisfy { $0["outcome"]?.stringValue == "delivered" })
                    #expect(answers.contains { $0["detail"]?.stringValue == "CanaryRollback resolved: HTTP 200" })
                    #expect(Set(answers.compactMap { $0["notifier"]?.stringValue }) == ["off", "both"])
                }
            }
        }
    }
}
