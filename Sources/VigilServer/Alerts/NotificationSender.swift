import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import VigilCore

/// Sends one notification body to a notifier over HTTP and classifies the answer (STYLE
/// "Errors"): 2xx delivered; 429, 5xx, timeouts and connection failures retried; any other 4xx
/// permanent.
struct NotificationSender: Sendable {
    enum Outcome: Sendable, Equatable {
        case delivered
        case retry(String)
        case failed(String)
    }

    let client: HTTPClient
    let notifiers: [String: NotifierConfig]
    /// HMAC secrets by notifier name, read from the environment at start-up.
    let secrets: [String: [UInt8]]
    var timeout: TimeAmount = .seconds(10)

    /// The URL a notifier's bodies go to: the webhook URL, or Alertmanager's `/api/v2/alerts`.
    static func endpoint(_ notifier: NotifierConfig) -> String {
        switch notifier.type {
        case .webhook: return notifier.url
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

    func send(_ body: [UInt8], to name: String) async -> Outcome {
        guard let notifier = notifiers[name] else { return .failed("notifier '\(name)' is no longer configured") }
        var request = HTTPClientRequest(url: Self.endpoint(notifier))
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "vigil")
        if notifier.type == .webhook, let secret = secrets[name] {
            request.headers.add(name: "X-Vigil-Signature", value: Self.signature(body, secret: secret))
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: timeout)
            let status = Int(response.status.code)
            _ = try? await response.body.collect(upTo: 65_536)
            switch status {
            case 200..<300: return .delivered
            case 429, 500...: return .retry("HTTP \(status)")
            default: return .failed("HTTP \(status)")
            }
        } catch {
            return .retry("\(error)")
        }
    }
}
