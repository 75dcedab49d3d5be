import AsyncHTTPClient
import Foundation
import NIOCore
import ServiceLifecycle

/// Sends the simulated traffic to Vigil over HTTP, as serving code would: every tick a batch
/// of predictions and the labels that have come due, as NDJSON. It starts each scenario of the
/// timeline on time and stops the canary's traffic once its flag is off.
struct TrafficSender: Sendable {
    let base: String
    let timeline: Timeline
    let receiver: DemoReceiver
    let printer: DemoPrinter
    /// Fraud predictions per second (the assistant gets a fifth of that).
    let rate: Int
    let seed: UInt64
    static let tick = Duration.milliseconds(250)

    func run() async throws {
        // A redirected POST must not turn into a GET elsewhere: a 3xx is an answer, not a hop.
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        do {
            try await loop(client)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    private func loop(_ client: HTTPClient) async throws {
        var world = TrafficWorld(seed: seed, runID: String(UInt32(truncatingIfNeeded: seed &* 2_654_435_761 ^ UInt64(Self.nowMillis())), radix: 36))
        var due: [TrafficWorld.Event] = []  // labels and feedback, in due order (one fixed delay)
        var step = 0
        var lastProblem: String?
        var sent = (predictions: 0, labels: 0)
        var owed = (fraud: 0.0, assistant: 0.0)
        var lastReport = ContinuousClock.now
        let start = ContinuousClock.now
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let elapsed = ContinuousClock.now - start
            while step < timeline.steps.count, timeline.steps[step].at <= elapsed {
                let scenario = timeline.steps[step].scenario
                world.active.insert(scenario)
                printer.say("scenario \(scenario.rawValue): \(scenario.story)\(scenario.rule.map { " (caught by \($0))" } ?? "")")
                step += 1
            }
            if world.canaryOn && receiver.isOff("fraud-canary") {
                world.canaryOn = false
                printer.say("traffic: fraud-canary is off, so all fraud traffic now goes to control")
            }
            let now = Self.nowMillis()
            var predictions: [String] = []
            owed.fraud += Double(rate) / 4
            owed.assistant += Double(rate) / 20
            while owed.fraud >= 1 {
                let (prediction, label) = world.fraud(at: now)
                predictions.append(prediction.line)
                due.append(label)
                owed.fraud -= 1
            }
            while owed.assistant >= 1 {
                let (prediction, feedback) = world.assistant(at: now)
                predictions.append(prediction.line)
                due.append(feedback)
                owed.assistant -= 1
            }
            let ready = due.prefix { $0.due <= now }.map(\.line)
            due.removeFirst(ready.count)
            var problems: [String] = []
            if let problem = await post(predictions, to: "/v1/predictions", client) { problems.append(problem) } else { sent.predictions += predictions.count }
            if let problem = await post(ready, to: "/v1/labels", client) { problems.append(problem) } else { sent.labels += ready.count }
            let problem = problems.first
            if problem != lastProblem {
                printer.say(problem.map { "traffic: \($0)" } ?? "traffic: Vigil accepts events again")
                lastProblem = problem
            }
            if ContinuousClock.now - lastReport >= .seconds(30) {
                printer.say("traffic: \(sent.predictions) predictions and \(sent.labels) labels sent so far")
                lastReport = .now
            }
            try? await Task.sleep(for: Self.tick)
        }
    }

    /// POSTs `lines` as NDJSON; a description of the problem, or `nil` when all were accepted.
    private func post(_ lines: [String], to path: String, _ client: HTTPClient) async -> String? {
        guard !lines.isEmpty else { return nil }
        var request = HTTPClientRequest(url: base + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-ndjson")
        request.body = .bytes(ByteBuffer(string: lines.joined(separator: "\n")))
        do {
            let response = try await client.execute(request, timeout: .seconds(5))
            let body = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .ok else { return "POST \(path) answered \(response.status.code): \(String(buffer: body))" }
            return nil
        } catch {
            return "POST \(path) failed: \(error)"
        }
    }

    static func nowMillis() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
}
