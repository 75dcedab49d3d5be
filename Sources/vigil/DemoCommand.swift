import ArgumentParser
import Foundation
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
    @Flag(help: "Instead of the demo, a proxy that injects faults into one model's live predictions on their way to Vigil.")
    var chaos = false
    @Option(help: "--chaos: the Vigil the proxy forwards to.") var upstream: String?
    @Option(help: "--chaos: the model whose predictions get the faults.") var model: String?
    @Option(
        name: .customLong("fault"),
        help: "--chaos: quality-drop=FRACTION, segment-bias=ATTRIBUTE:VALUE:FRACTION, latency=+MS[:METRIC], drift=FEATURE*FACTOR (repeatable).")
    var faults: [String] = []

    func validate() throws {
        if chaos {
            guard upstream.flatMap(URL.init(string:))?.scheme.map({ ["http", "https"].contains($0) }) == true else {
                throw ValidationError("--chaos needs --upstream http://HOST:PORT, the Vigil to forward to")
            }
            guard model != nil else { throw ValidationError("--chaos needs --model NAME, the model whose predictions get the faults") }
            guard !faults.isEmpty else { throw ValidationError("--chaos needs at least one --fault") }
            for fault in faults { if case .failure(let error) = ChaosFault.parse(fault) { throw ValidationError("\(error)") } }
        }
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be between 0 and 65535") }
        guard (1...10_000).contains(rate) else { throw ValidationError("--rate must be between 1 and 10000") }
    }

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "vigil-demo")
        logger.logLevel = .warning
        let service: any Service
        if chaos, let upstream, let model {
            let parsed = faults.compactMap { try? ChaosFault.parse($0).get() }
            service = ChaosProxy(upstream: upstream, port: port ?? 9751, model: model, faults: parsed, seed: seed)
        } else {
            service = Demo(port: port, timeline: scenario.map { .only($0) } ?? .full, seed: seed, rate: rate)
        }
        let group = ServiceGroup(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
