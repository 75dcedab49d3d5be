import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import VigilCore

/// Sends one notification body to a notifier over HTTP and classifies the answer (STYLE
/// "Errors"): 2xx delivered; 3xx (never followed), 429, 5xx, timeouts and connection failures
/// retried; any other 4xx permanent.
struct NotificationSender: Sendable {
    enum Outcome: Sendable, Equatable {
        /// With the answer's status line (`HTTP 200`).
        case delivered(String)
        case retry(String)
        case failed(String)

        var isDelivered: Bool { if case .delivered = self { true } else { false } }

        /// `delivered`, `retry` or `failed`, and the answer or reason.
        var parts: (outcome: String, detail: String) {
            switch self {
            case .delivered(let s): ("delivered", s)
            case .retry(let s): ("retry", s)
            case .failed(let s): ("failed", s)
            }
        }
    }

    let client: HTTPClient
    let notifiers: [String: NotifierConfig]
    /// HMAC secrets by notifier name, read from the environment at start-up.
    let secrets: [String: [UInt8]]
    /// The environment variables `http` notifiers' templates read, read at start-up.
    var environment: [String: String] = [:]
    /// The deadline of one whole exchange: connecting, sending, and the answer's head and body.
    var timeout: Duration = .seconds(10)

    /// The client notifications go out on. Redirects are never followed: AsyncHTTPClient would
    /// turn the signed POST into a GET after a 301/302/303 (whose 200 then looked delivered), or
    /// re-send the body wherever a 307/308 points. Failed connection attempts are not retried
    /// inside one exchange: the outbox retries with its own backoff, and a refused connection or
    /// an unknown host fails at once with its own error instead of using up the deadline.
    static func makeClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// The URL a notifier's bodies go to: the webhook URL, or Alertmanager's `/api/v2/alerts`.
    static func endpoint(_ notifier: NotifierConfig) -> String {
        switch notifier.type {
        case .webhook, .http: return notifier.url
        case .alertmanager:
            let base = notifier.url.hasSuffix("/") ? String(notifier.url.dropLast()) : notifier.url
            return base.hasSuffix("/api/v2/alerts") ? base : base + "/api/v2/alerts"
        }
    }

    /// `sha256=<hex HMAC-SHA256 of the body>`.
    static func signature(_ body: [UInt8], secret: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: secret))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// The signed POST of `body` to `notifier`.
    static func request(_ body: [UInt8], to notifier: NotifierConfig, secret: [UInt8]?) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: endpoint(notifier))
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "vigil")
        if notifier.type == .webhook, let secret {
            request.headers.add(name: "X-Vigil-Signature", value: signature(body, secret: secret))
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        return request
    }

    /// An `http` notifier's request from its outbox entry (`HTTPNotifierTemplate.render`), with
    /// the environment's values put in; `nil` when the entry does not decode.
    static func request(stored body: [UInt8], environment: [String: String]) -> HTTPClientRequest? {
        guard let stored = try? JSONParser.parse(body), case .object(let object) = stored,
            case .string(let method)? = object["method"],
            let url = object["url"].flatMap(RenderedTemplate.init(json:))?.text(environment: environment),
            case .array(let headers)? = object["headers"]
        else { return nil }
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        request.headers.add(name: "User-Agent", value: "vigil")
        for header in headers {
            guard case .array(let pair) = header, pair.count == 2, case .string(let name) = pair[0],
                let value = RenderedTemplate(json: pair[1])?.text(environment: environment)
            else { return nil }
            // A value from the environment is checked here too: no line breaks into the request.
            guard !value.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" }) else { return nil }
            request.headers.replaceOrAdd(name: name, value: value)
        }
        if let bodyParts = object["body"], bodyParts != .null {
            guard let text = RenderedTemplate(json: bodyParts)?.text(environment: environment) else { return nil }
            if !request.headers.contains(name: "Content-Type") {
                request.headers.add(name: "Content-Type", value: "application/json")
            }
            request.body = .bytes(ByteBuffer(string: text))
        }
        return request
    }

    /// One delivery attempt, over within `timeout` whatever the receiver does.
    func send(_ body: [UInt8], to name: String) async -> Outcome {
        guard let notifier = notifiers[name] else { return .failed("notifier '\(name)' is no longer configured") }
        let request: HTTPClientRequest
        if notifier.type == .http {
            guard let stored = Self.request(stored: body, environment: environment) else {
                return .failed("the stored request does not decode")
            }
            request = stored
        } else {
            request = Self.request(body, to: notifier, secret: secrets[name])
        }
        // AsyncHTTPClient's deadline ends with the response head; a receiver that sends its head
        // and then trickles the body would hold the notifier's queue for as long as it likes. The
        // race below bounds the whole exchange; the loser is cancelled, which closes the connection.
        let timeout = self.timeout
        return await withTaskGroup(of: Outcome?.self) { group in
            group.addTask { await exchange(request) }
            group.addTask {
                do { try await Task.sleep(for: timeout) } catch { return .retry("cancelled: shutting down") }
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .retry(Self.timedOut(timeout))
        }
    }

    /// Sends the request and reads the whole answer.
    private func exchange(_ request: HTTPClientRequest) async -> Outcome {
        do {
            let response = try await client.execute(request, timeout: TimeAmount(timeout))
            // The answer counts only once it is complete (at least once: a cut-off answer retries).
            for try await _ in response.body {}
            return Self.outcome(status: Int(response.status.code))
        } catch {
            return .retry(Self.reason(error, url: request.url, timeout: timeout))
        }
    }

    /// The outcome of a complete answer with `status`.
    static func outcome(status: Int) -> Outcome {
        switch status {
        case 200..<300: return .delivered("HTTP \(status)")
        // A redirect is retried, not failed for good: a receiver moved behind a redirect is a
        // configuration slip (or a proxy or portal in the way) that someone fixes, and the retry
        // counter and `last_error` say what to fix, while the notification waits in the outbox.
        case 300..<400: return .retry("HTTP \(status) redirect not followed")
        case 429, 500...: return .retry("HTTP \(status)")
        default: return .failed("HTTP \(status)")
        }
    }

    /// The reason of an exchange cut off by the deadline.
    static func timedOut(_ timeout: Duration) -> String { "no complete answer within \(timeout)" }

    /// Why an exchange with `url` failed, in words an operator can act on.
    static func reason(_ error: any Error, url: String, timeout: Duration) -> String {
        let parsed = URL(string: url)
        let host = parsed?.host ?? url
        let port = parsed?.port ?? (parsed?.scheme == "https" ? 443 : 80)
        func because(_ error: any Error) -> String {
            (error as? IOError).map { String(cString: strerror($0.errnoCode)) } ?? "\(error)"
        }
        switch error {
        // A host name: NIO resolves it, then tries each address.
        case let error as NIOConnectionError:
            guard let failure = error.connectionErrors.first else { return "cannot resolve host \(error.host)" }
            return "cannot connect to \(error.host):\(error.port): \(because(failure.error))"
        // An address: NIO connects to it directly.
        case let error as IOError: return "cannot connect to \(host):\(port): \(because(error))"
        case let error as HTTPClientError where error == .deadlineExceeded: return timedOut(timeout)
        case let error as HTTPClientError where error == .connectTimeout:
            return "cannot connect to \(host):\(port): timed out"
        case let error as HTTPClientError where error == .remoteConnectionClosed:
            return "\(host):\(port) closed the connection before answering"
        default: return "\(error)"
        }
    }
}
