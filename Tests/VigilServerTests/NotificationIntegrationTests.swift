import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Testing
import VigilCore
import VigilEngine

@testable import VigilServer

/// A webhook receiver on loopback: records every request and answers 500 while `failing`.
final class WebhookReceiver: Sendable {
    struct Delivery: Sendable {
        var signature: String?
        var body: String
        var at: ContinuousClock.Instant
    }

    let deliveries = Locked<[Delivery]>([])
    let attempts = Locked<Int>(0)
    let failing = Locked<Bool>(false)
    let port = Locked<Int>(0)

    func application() -> some ApplicationProtocol {
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            self.attempts.withLock { $0 += 1 }
            if self.failing.withLock({ $0 }) { return Response(status: .internalServerError) }
            self.deliveries.withLock {
                $0.append(
                    Delivery(
                        signature: request.headers[HTTPField.Name("X-Vigil-Signature")!], body: String(buffer: body),
                        at: .now))
            }
            return Response(status: .ok)
        }
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in self.port.withLock { $0 = channel.localAddress?.port ?? 0 } },
            logger: {
                // Cancelling the task group at the end closes the channel under the server; that
                // is how the test stops it, not an error worth printing.
                var logger = Logger(label: "receiver")
                logger.logLevel = .critical
                return logger
            }())
    }

    func bodies() -> [JSONValue] {
        deliveries.withLock { $0.compactMap { try? JSONParser.parse(Array($0.body.utf8)) } }
    }
}

/// DESIGN §7 end to end: the real binary with a drift rule, a webhook receiver and a real
/// Alertmanager (Debian's package) on loopback.
@Suite(.serialized) struct NotificationIntegrationTests {
    static let secret = "s3cret-for-tests"

    static func config(hook: Int, alertmanager: Int) -> String {
        """
        evaluation_interval: 1s
        models:
          fraud: {task: binary, positive_class: fraud}
        alerts:
          - {name: AmountDrift, model: "*", metric: feature_drift_psi, feature: amount, op: ">", threshold: 0.2,
             window: 5m, for: 2s, min_samples: 50, severity: critical, notify: [hook, am],
             summary: "amount drifted on {{ $labels.model }} (PSI {{ $value }})"}
        notifiers:
          hook: {type: webhook, url: "http://127.0.0.1:\(hook)/hook", secret_env: VIGIL_HOOK_SECRET,
                 send_resolved: true, repeat_interval: 1h}
          am: {type: alertmanager, url: "http://127.0.0.1:\(alertmanager)"}
        """
    }

    static func traffic(_ prefix: String, count: Int, center: Double) -> String {
        let now = Double(SystemClock().now) / 1000
        return JSONWriter.string(
            .array(
                (0..<count).map { i -> JSONValue in
                    let features: JSONValue = .object([("amount", .number(center + Double(i % 50)))])
                    return .object([
                        ("id", .string("\(prefix)\(i)")), ("model", .string("fraud")), ("timestamp", .number(now - 1)),
                        ("prediction", .string(i % 2 == 0 ? "fraud" : "ok")), ("confidence", .number(0.7)),
                        ("features", features),
                    ])
                }))
    }

    @Test(
        .enabled(
            if: ExternalTool.shouldRun("prometheus-alertmanager"),
            "prometheus-alertmanager is not installed: apt-get install prometheus-alertmanager (CI always runs this)"))
    func driftFiresSignedWebhookAndAlertmanagerThenResolvesThroughAnOutageAndARestart() async throws {
        let directory = try TemporaryDirectory()
        let amPort = try ExternalTool.freePort()
        try """
        route: {receiver: "null", group_wait: 0s, group_interval: 1s, repeat_interval: 1h}
        receivers: [{name: "null"}]
        """.write(toFile: directory.path("am.yml"), atomically: true, encoding: .utf8)
        let alertmanager = try Daemon(
            "prometheus-alertmanager",
            [
                "--config.file=\(directory.path("am.yml"))", "--storage.path=\(directory.path("am"))",
                "--web.listen-address=127.0.0.1:\(amPort)", "--cluster.listen-address=",
            ], logPath: directory.path("am.log"))
        defer { alertmanager.stop() }
        let amAPI = "http://127.0.0.1:\(amPort)/api/v2/alerts"
        try await HTTP.eventually(.seconds(30), "Alertmanager to be ready") {
            try await HTTP.get("http://127.0.0.1:\(amPort)/-/ready").status == 200
        }
        let receiver = WebhookReceiver()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await receiver.application().runService() }
            try await HTTP.eventually(.seconds(60), "the receiver to listen") { receiver.port.withLock { $0 } > 0 }
            try Self.config(hook: receiver.port.withLock { $0 }, alertmanager: amPort).write(
                toFile: directory.path("vigil.yaml"), atomically: true, encoding: .utf8)
            try await Self.run(directory: directory, receiver: receiver, amAPI: amAPI)
            group.cancelAll()
        }
        withExtendedLifetime(directory) {}
    }

    static func run(directory: TemporaryDirectory, receiver: WebhookReceiver, amAPI: String) async throws {
        func start() async throws -> VigilProcess {
            try await VigilProcess.serve(
                db: directory.path("vigil.db"), logPath: directory.path("vigil.log"),
                extra: ["--config", directory.path("vigil.yaml")], environment: ["VIGIL_HOOK_SECRET": secret])
        }
        var vigil = try await start()
        var base = "http://127.0.0.1:\(vigil.port)"
        #expect(
            try await HTTP.request(.PUT, "\(base)/v1/models/fraud/reference", body: traffic("r", count: 400, center: 0))
                .status == 200)
        #expect(try await HTTP.post("\(base)/v1/predictions", traffic("c", count: 200, center: 60)).status == 200)
        let onset = ContinuousClock.now

        // Firing: one signed webhook, and the alert in Alertmanager.
        try await HTTP.eventually(.seconds(30), "the firing webhook") { !receiver.bodies().isEmpty }
        let first = try #require(receiver.deliveries.withLock { $0.first })
        let latency = first.at - onset
        print("drift onset to firing webhook delivered: \(latency)")
        // A sanity bound only; the figure against DESIGN §8 comes from tools/bench/alert-latency.sh.
        #expect(latency < .seconds(15))
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array(first.body.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        #expect(first.signature == "sha256=" + mac.map { String(format: "%02x", $0) }.joined())
        let firing = try #require(receiver.bodies().first)
        #expect(firing["version"]?.stringValue == "4")
        #expect(firing["status"]?.stringValue == "firing")
        #expect(firing["notification_reason"]?.stringValue == "new")
        #expect(firing["receiver"]?.stringValue == "hook")
        #expect(firing["groupKey"]?.stringValue == #"{}:{alertname="AmountDrift", model="fraud"}"#)
        #expect(firing["alerts"]?[0]?["labels"]?["feature"]?.stringValue == "amount")
        #expect(
            firing["alerts"]?[0]?["annotations"]?["summary"]?.stringValue?.hasPrefix("amount drifted on fraud") == true)
        try await HTTP.eventually(.seconds(30), "the alert in Alertmanager") {
            try await HTTP.get(amAPI).body.contains("\"alertname\":\"AmountDrift\"")
        }

        // Outage: the receiver answers 500; the drift is cured (a reference like the current
        // traffic), so the resolved notification queues and is retried.
        receiver.failing.withLock { $0 = true }
        let attemptsBefore = receiver.attempts.withLock { $0 }
        #expect(
            try await HTTP.request(
                .PUT, "\(base)/v1/models/fraud/reference", body: traffic("r2", count: 400, center: 60)
            ).status == 200)
        try await HTTP.eventually(.seconds(30), "failed attempts") {
            receiver.attempts.withLock { $0 } >= attemptsBefore + 2
        }
        let (_, metrics) = try await HTTP.get("\(base)/metrics")
        #expect(!metrics.contains(#"vigil_webhook_deliveries_total{notifier="hook",outcome="retry"} 0"#))
        // Restart Vigil while the receiver is still down.
        #expect(await vigil.terminate() == 0)
        vigil = try await start()
        base = "http://127.0.0.1:\(vigil.port)"
        try await Task.sleep(for: .seconds(1))
        receiver.failing.withLock { $0 = false }

        // Recovery: the resolved notification arrives after all, exactly one firing before it.
        try await HTTP.eventually(.seconds(60), "the resolved webhook") {
            receiver.bodies().contains { $0["status"]?.stringValue == "resolved" }
        }
        let bodies = receiver.bodies()
        #expect(bodies.filter { $0["status"]?.stringValue == "firing" }.count == 1)
        let resolved = try #require(bodies.last)
        #expect(resolved["notification_reason"]?.stringValue == "resolved")
        #expect(resolved["alerts"]?[0]?["status"]?.stringValue == "resolved")
        #expect(resolved["alerts"]?[0]?["endsAt"]?.stringValue != "0001-01-01T00:00:00Z")
        try await HTTP.eventually(.seconds(30), "Alertmanager to see the alert resolved") {
            !(try await HTTP.get(amAPI).body.contains("\"alertname\":\"AmountDrift\""))
        }
        let (_, history) = try await HTTP.get("\(base)/v1/alerts?state=resolved")
        #expect(history.contains("\"name\":\"AmountDrift\""))
        #expect(await vigil.terminate() == 0)
    }

    @Test func testNotifierSendsASignedTestAlert() async throws {
        let directory = try TemporaryDirectory()
        let receiver = WebhookReceiver()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await receiver.application().runService() }
            try await HTTP.eventually(.seconds(60), "the receiver to listen") { receiver.port.withLock { $0 } > 0 }
            let port = receiver.port.withLock { $0 }
            try """
            notifiers:
              hook: {type: webhook, url: "http://127.0.0.1:\(port)/hook", secret_env: VIGIL_HOOK_SECRET}
            """.write(toFile: directory.path("vigil.yaml"), atomically: true, encoding: .utf8)
            let arguments = ["test-notifier", "--config", directory.path("vigil.yaml"), "hook"]
            // Waits without blocking a pool thread: this test's own receiver must answer meanwhile.
            let (ok, output) = try await runVigilAsync(arguments, environment: ["VIGIL_HOOK_SECRET": Self.secret])
            #expect(ok == 0, "\(output)")
            #expect(output.contains("delivered"))
            let body = try #require(receiver.bodies().first)
            #expect(body["alerts"]?[0]?["labels"]?["alertname"]?.stringValue == "VigilTestNotification")
            #expect(receiver.deliveries.withLock { $0.first?.signature?.hasPrefix("sha256=") } == true)
            receiver.failing.withLock { $0 = true }
            let (failed, message) = try await runVigilAsync(arguments, environment: ["VIGIL_HOOK_SECRET": Self.secret])
            #expect(failed == 1)
            #expect(message.contains("HTTP 500"))
            let (unset, why) = try await runVigilAsync(arguments)
            #expect(unset == 1 && why.contains("VIGIL_HOOK_SECRET"))
            group.cancelAll()
        }
        withExtendedLifetime(directory) {}
    }
}
