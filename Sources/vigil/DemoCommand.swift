import ArgumentParser
import Logging
import ServiceLifecycle
import VigilDemo

extension Scenario: ExpressibleByArgument {}

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run Vigil with a built-in traffic generator whose models fail in the ways production models do.",
        discussion: """
            A temporary database (removed on exit), the service, a webhook printer and a flag service, and \
            simulated traffic for a fraud classifier (variants control and canary) and a generative assistant. \
            Scenarios start on a timeline and are printed as they start: normal, drift, segment, canary, \
            hallucination. The first line printed is the URL to open.
            """)

    @Option(help: "Port to serve on (default 9750 when it is free, any free port otherwise; 0 picks one).") var port: Int?
    @Option(help: "Run only this scenario, after 15 s of healthy traffic: \(Scenario.allCases.map(\.rawValue).joined(separator: ", ")).")
    var scenario: Scenario?
    @Option(help: "Fraud predictions per second (the assistant gets a fifth).") var rate: Int = 100
    @Option(help: "Seed of the traffic generator.") var seed: UInt64 = 1

    func validate() throws {
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be between 0 and 65535") }
        guard (1...10_000).contains(rate) else { throw ValidationError("--rate must be between 1 and 10000") }
    }

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "vigil-demo")
        logger.logLevel = .warning
        let demo = Demo(port: port, timeline: scenario.map { .only($0) } ?? .full, seed: seed, rate: rate)
        let group = ServiceGroup(services: [demo], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
