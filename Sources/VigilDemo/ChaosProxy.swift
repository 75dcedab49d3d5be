import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import VigilCore

/// `vigil demo --chaos`: a proxy between a model's serving code and its Vigil that forwards
/// every request and answer unchanged except the chosen model's predictions, which get the
/// faults. Point a staging service's Vigil URL at it and watch your own alerts fire.
public struct ChaosProxy: Service {
    public var upstream: String
    public var port: Int
    public var model: String
    public var faults: [ChaosFault]
    public var seed: UInt64
    /// The largest request body it reads (Vigil's default `max_body_bytes`).
    public var maxBody = 10 << 20

    public init(upstream: String, port: Int, model: String, faults: [ChaosFault], seed: UInt64 = 1) {
        self.upstream = upstream.hasSuffix("/") ? String(upstream.dropLast()) : upstream
        self.port = port
        self.model = model
        self.faults = faults
        self.seed = seed
    }

    /// Counts shown every 30 s.
    struct Counts {
        var predictions = 0
        var altered = 0
        var passedThrough = 0
    }

    /// What the proxy's requests share: the injector (its random stream and the classes seen)
    /// and the counts.
    final class State: Sendable {
        let injector: Mutex<ChaosInjector>
        let counts = Mutex(Counts())
        let model: String
        init(_ injector: ChaosInjector) {
            model = injector.model
            self.injector = Mutex(injector)
        }
    }

    public func run() async throws {
        let printer = DemoPrinter()
        let state = State(ChaosInjector(model: model, faults: faults, seed: seed))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            try await self.forward(request, client: client, state: state)
        }
        var logger = Logger(label: "vigil-chaos")
        logger.logLevel = .warning
        let app = Application(
            responder: responder, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in
                printer.plain("Vigil chaos proxy: http://127.0.0.1:\(channel.localAddress?.port ?? port) → \(upstream)")
                printer.plain("  model \(model): " + faults.map(\.description).joined(separator: "; "))
                printer.plain("  point the serving code's Vigil URL here; everything else passes unchanged. Ctrl-C stops it.")
            }, logger: logger)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await app.run() }
                group.addTask {
                    while true {
                        try await Task.sleep(for: .seconds(30))
                        let c = state.counts.withLock { $0 }
                        printer.say(
                            "chaos: \(c.predictions) \(model) predictions seen, \(c.altered) altered, \(c.passedThrough) requests passed through unread (compressed or not JSON)"
                        )
                    }
                }
                // The server ends on graceful shutdown (or fails): the report goes with it.
                try await group.next()
                group.cancelAll()
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    private func forward(
        _ request: Request, client: HTTPClient, state: State
    ) async throws -> Response {
        var body = try await request.body.collect(upTo: maxBody)
        let isPredictions = request.method == .post && request.uri.path.hasSuffix("/v1/predictions")
        if isPredictions {
            if request.headers[.contentEncoding] != nil {
                state.counts.withLock { $0.passedThrough += 1 }
            } else if let rewritten = Self.rewrite(Array(buffer: body), ndjson: Self.isNDJSON(request.headers[.contentType]), state: state) {
                body = ByteBuffer(bytes: rewritten)
            } else {
                state.counts.withLock { $0.passedThrough += 1 }
            }
        }
        var outbound = HTTPClientRequest(url: upstream + request.uri.description)
        outbound.method = .init(rawValue: request.method.rawValue)
        for field in request.headers where !Self.hopByHop.contains(field.name.canonicalName) {
            outbound.headers.add(name: field.name.rawName, value: field.value)
        }
        outbound.body = .bytes(body)
        let answer: HTTPClientResponse
        do {
            answer = try await client.execute(outbound, timeout: .seconds(30))
        } catch {
            return Response(
                status: .badGateway, headers: [.contentType: "application/json", .retryAfter: "1"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"error":"chaos proxy: upstream unreachable"}"#)))
        }
        let answerBody = try await answer.body.collect(upTo: 64 << 20)
        var headers = HTTPFields()
        for (name, value) in answer.headers {
            guard let field = HTTPField.Name(name), !Self.hopByHop.contains(field.canonicalName) else { continue }
            // Clients would compress once told they may, and compressed bodies pass unread.
            if field == .acceptEncoding { continue }
            headers.append(HTTPField(name: field, value: value))
        }
        return Response(status: .init(code: Int(answer.status.code)), headers: headers, body: .init(byteBuffer: answerBody))
    }

    static let hopByHop: Set<String> = ["host", "connection", "content-length", "transfer-encoding", "keep-alive", "upgrade", "te", "trailer"]

    static func isNDJSON(_ contentType: String?) -> Bool {
        guard let contentType = contentType?.lowercased() else { return false }
        return contentType.contains("ndjson") || contentType.contains("jsonlines") || contentType.contains("jsonl")
    }

    /// The body with faults applied, or `nil` when it is not JSON (the server will say so).
    static func rewrite(_ bytes: [UInt8], ndjson: Bool, state: State) -> [UInt8]? {
        func event(_ value: JSONValue) -> JSONValue {
            guard case .object(let object) = value else { return value }
            let (result, changed) = state.injector.withLock { $0.apply(object) }
            if object["model"]?.stringValue == state.model {
                state.counts.withLock {
                    $0.predictions += 1
                    if changed { $0.altered += 1 }
                }
            }
            return .object(result)
        }
        func observe(_ values: [JSONValue]) {
            state.injector.withLock { injector in for case .object(let o) in values { injector.observe(o) } }
        }
        if ndjson {
            let lines = bytes.split(separator: UInt8(ascii: "\n")).map { ($0, try? JSONParser.parse(Array($0))) }
            observe(lines.compactMap(\.1))
            var out: [UInt8] = []
            for (line, value) in lines {
                if let value { out += JSONWriter.bytes(event(value)) } else { out += line }
                out.append(UInt8(ascii: "\n"))
            }
            return out
        }
        guard let value = try? JSONParser.parse(bytes) else { return nil }
        switch value {
        case .array(let items): observe(items)
        case .object(let object):
            if case .array(let items)? = object["predictions"] { observe(items) } else { observe([value]) }
        default: break
        }
        switch value {
        case .array(let items): return JSONWriter.bytes(.array(items.map(event)))
        case .object(var object) where object["predictions"] != nil:
            guard case .array(let items)? = object["predictions"] else { return nil }
            object.members = object.uniqueMembers.map { $0.key == "predictions" ? JSONMember(key: "predictions", value: .array(items.map(event))) : $0 }
            return JSONWriter.bytes(.object(object))
        default: return JSONWriter.bytes(event(value))
        }
    }
}
