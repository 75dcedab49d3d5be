import Foundation
import Logging
import ServiceLifecycle
import VigilCore
import VigilServer

#if canImport(Glibc)
    import Glibc
#endif

/// `vigil demo`: a temporary database, the service, the webhook printer and flag service, and
/// the traffic generator, in one process. Stops on graceful shutdown and removes the database.
public struct Demo: Service {
    /// Where to listen: `nil` takes 9750 when it is free, any free port otherwise.
    public var port: Int?
    public var timeline: Timeline
    public var seed: UInt64
    /// Fraud predictions per second.
    public var rate: Int

    public init(port: Int?, timeline: Timeline, seed: UInt64 = 1, rate: Int = 100) {
        self.port = port
        self.timeline = timeline
        self.seed = seed
        self.rate = rate
    }

    public func run() async throws {
        let printer = DemoPrinter()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-demo-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let receiver = DemoReceiver(printer: printer)
        try await withThrowingTaskGroup(of: Void.self) { group in
            let receiverPort = try await Self.start(in: &group) { onListening in
                try await receiver.application(onListening: onListening).run()
            }
            let yaml = DemoConfig.yaml(
                database: directory.appendingPathComponent("vigil.db").path,
                port: port ?? (Self.isFree(9750) ? 9750 : 0), receiverPort: receiverPort)
            let config = try ConfigLoader.parse(yaml: yaml)
            let logger = {
                var logger = Logger(label: "vigil")
                logger.logLevel = .warning
                return logger
            }()
            let vigilPort = try await Self.start(in: &group) { onListening in
                var options = AppOptions()
                options.onListening = onListening
                try await buildApplication(config: config, options: options, logger: logger).run()
            }
            let base = "http://127.0.0.1:\(vigilPort)"
            printer.plain(Self.banner(base, directory: directory.path))
            let sender = TrafficSender(
                base: base, timeline: timeline, receiver: receiver, printer: printer, rate: rate, seed: seed)
            group.addTask { try await sender.run() }
            try await group.waitForAll()
        }
        printer.say("demo stopped; removed \(directory.path)")
    }

    /// Starts a server in `group` and returns its port once it listens (or its start-up error).
    private static func start(
        in group: inout ThrowingTaskGroup<Void, any Error>,
        _ serve: @escaping @Sendable (_ onListening: @escaping @Sendable (Int) async -> Void) async throws -> Void
    ) async throws -> Int {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        group.addTask {
            defer { continuation.finish() }
            try await serve { continuation.yield($0) }
        }
        for await port in ports { return port }
        // It stopped before listening: its error says why.
        try await group.next()
        throw CancellationError()
    }

    static func banner(_ base: String, directory: String) -> String {
        """
        Vigil demo: \(base)
          open it in a browser: the web console (models, drift, quality, alerts, the canary's comparison)
          curl -s '\(base)/v1/models/fraud/metrics?window=1m'    # the fraud model's last minute
          curl -s '\(base)/v1/models/fraud/compare?baseline=variant:control&candidate=variant:canary&window=1m'
          curl -s '\(base)/v1/models/assistant/metrics?window=1m'
          curl -s '\(base)/v1/alerts'                             # pending and firing alerts
          curl -s '\(base)/metrics'                               # what Prometheus scrapes
          database \(directory)/vigil.db, removed on exit; Ctrl-C stops the demo
        """
    }

    /// Whether nothing listens on 127.0.0.1:`port` (a probe: someone may take it meanwhile).
    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return result == 0
    }
}
