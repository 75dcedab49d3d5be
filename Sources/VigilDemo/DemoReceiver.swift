import Foundation
import Hummingbird
import Logging
import Synchronization
import VigilCore

/// What the demo runs beside Vigil on loopback: the webhook printer that alerts are delivered
/// to (each printed as one line), and a one-flag "feature flag service" that the `http`
/// notifier turns off when the canary is rolled back.
public final class DemoReceiver: Sendable {
    private let printer: DemoPrinter
    private let flagsOff = Mutex<Set<String>>([])
    /// The last status printed per alert fingerprint: a group notification repeats the alerts
    /// it already reported, and only changes are news.
    private let printed = Mutex<[String: String]>([:])

    public init(printer: DemoPrinter) { self.printer = printer }

    /// Whether `flag` has been turned off.
    public func isOff(_ flag: String) -> Bool { flagsOff.withLock { $0.contains(flag) } }

    /// The receiver as an application on `127.0.0.1:0`; `onListening` gets the port.
    public func application(onListening: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let router = Router()
        router.post("/alerts") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 4 << 20)
            self.printAlerts(Array(buffer: body))
            return Response(status: .ok)
        }
        router.post("/flags/{flag}/off") { _, context -> Response in
            let flag = context.parameters.get("flag") ?? "?"
            let fresh = self.flagsOff.withLock { $0.insert(flag).inserted }
            if fresh { self.printer.say("flag \(flag) turned off (Vigil's http notifier called the flag service)") }
            return Response(status: .ok)
        }
        router.get("/flags/{flag}") { _, context -> String in
            self.isOff(context.parameters.get("flag") ?? "") ? "off\n" : "on\n"
        }
        var logger = Logger(label: "vigil-demo-receiver")
        logger.logLevel = .critical
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) }, logger: logger)
    }

    /// One line per alert of an Alertmanager-style webhook body.
    func printAlerts(_ body: [UInt8]) {
        guard let payload = try? JSONParser.parse(body), let alerts = payload.objectValue?["alerts"],
            case .array(let items) = alerts
        else {
            printer.say("webhook: a body that is not an alert notification (\(body.count) bytes)")
            return
        }
        for alert in items {
            guard let object = alert.objectValue else { continue }
            let status = object["status"]?.stringValue ?? "?"
            let key = (object["fingerprint"]?.stringValue ?? "") + (object["startsAt"]?.stringValue ?? "")
            let changed = printed.withLock { seen in
                defer { seen[key] = status }
                return seen[key] != status
            }
            guard changed else { continue }
            let labels = object["labels"]?.objectValue ?? JSONObject()
            let name = labels["alertname"]?.stringValue ?? "?"
            let detail = labels.uniqueMembers
                .filter { !["alertname", "severity", "model"].contains($0.key) }
                .compactMap { member in member.value.stringValue.map { "\(member.key)=\($0)" } }
                .joined(separator: " ")
            let model = labels["model"]?.stringValue ?? "?"
            let summary = object["annotations"]?.objectValue?["summary"]?.stringValue ?? ""
            let tag = status == "firing" ? "ALERT firing  " : "alert resolved"
            printer.say("\(tag) \(name) model=\(model)\(detail.isEmpty ? "" : " " + detail)\(summary.isEmpty ? "" : " — " + summary)")
        }
    }
}
