import HTTPTypes
import Hummingbird
import Logging
import NIOCore

import VigilEngine
@testable import VigilServer

/// A notification receiver on loopback whose answers the test scripts: each request, whatever
/// its method and path, takes the next behaviour of `script` (then `otherwise`) and is recorded.
/// `WebhookReceiver` answers only 200 or 500 to POST /hook; faults need slow, redirecting and
/// arbitrary answers, and a record of every method (a followed redirect arrives as a GET).
final class FaultyReceiver: Sendable {
    enum Behaviour: Sendable {
        /// Answer at once with this status.
        case status(Int)
        /// Answer with a redirect to `location`.
        case redirect(Int, location: String)
        /// Wait before sending the head (200).
        case slowHead(Duration)
        /// Send a 200 head at once, then the body one byte per `every`, `bytes` bytes.
        case slowBody(bytes: Int, every: Duration)
    }

    struct Received: Sendable {
        var method: String
        var path: String
        var body: String
        var at: ContinuousClock.Instant
        /// Header fields, names lower-cased.
        var headers: [String: String] = [:]
    }

    let received = Locked<[Received]>([])
    /// Behaviours taken in turn, one per request.
    let script = Locked<[Behaviour]>([])
    /// The behaviour once `script` is used up.
    let otherwise = Locked<Behaviour>(.status(200))
    let port = Locked<Int>(0)

    init(script: [Behaviour] = [], otherwise: Behaviour = .status(200)) {
        self.script.withLock { $0 = script }
        self.otherwise.withLock { $0 = otherwise }
    }

    /// POST requests received so far.
    var posts: [Received] { received.withLock { $0.filter { $0.method == "POST" } } }

    /// Runs the receiver on `port` (0: a free one) while `body` runs.
    func whileRunning(port requested: Int = 0, _ body: () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.application(port: requested).runService() }
            try await HTTP.eventually(.seconds(60), "the receiver to listen") { self.port.withLock { $0 } > 0 }
            try await body()
            group.cancelAll()
        }
    }

    private func application(port requested: Int) -> some ApplicationProtocol {
        let router = Router()
        for method in [HTTPRequest.Method.post, .get, .put, .patch, .delete] {
            router.on("**", method: method) { request, _ -> Response in try await self.answer(request) }
        }
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: requested)),
            onServerRunning: { channel in self.port.withLock { $0 = channel.localAddress?.port ?? 0 } },
            logger: {
                // The test stops the server by cancelling it, with requests still in flight.
                var logger = Logger(label: "faulty-receiver")
                logger.logLevel = .critical
                return logger
            }())
    }

    private func answer(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 1 << 20)
        received.withLock {
            $0.append(
                Received(
                    method: request.method.rawValue, path: request.uri.path, body: String(buffer: body), at: .now,
                    headers: Dictionary(
                        request.headers.map { ($0.name.canonicalName, $0.value) }, uniquingKeysWith: { a, b in a + "," + b })))
        }
        let behaviour = script.withLock { $0.isEmpty ? nil : $0.removeFirst() } ?? otherwise.withLock { $0 }
        switch behaviour {
        case .status(let code):
            return Response(status: .init(code: code))
        case .redirect(let code, let location):
            return Response(status: .init(code: code), headers: [.location: location])
        case .slowHead(let wait):
            try await Task.sleep(for: wait)
            return Response(status: .ok)
        case .slowBody(let bytes, let every):
            return Response(
                status: .ok,
                body: ResponseBody { writer in
                    for _ in 0..<bytes {
                        try await writer.write(ByteBuffer(string: "."))
                        try await Task.sleep(for: every)
                    }
                    try await writer.finish(nil)
                })
        }
    }
}
