import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import VigilCore

/// The console's session cookie: `vigil_session=<hex name>.<expiry>.<hex HMAC>`, the HMAC-SHA256
/// of the token's name and expiry keyed by the token's own secret. Nothing is kept on the
/// server, so sessions are bounded by construction, survive restarts, and end when the token is
/// removed or its secret changes. Only a token with the `read` scope can sign in (the console
/// only reads). The cookie is HttpOnly and SameSite=Strict.
struct ConsoleSession {
    static let cookieName = "vigil_session"
    /// Seconds a session lasts.
    static let lifetime: Int64 = 12 * 3600

    /// The `Set-Cookie` value of a new session for `entry`, issued at `now` (ms).
    /// `secure` adds `Secure` (the request came through an HTTPS proxy).
    static func cookie(for entry: TokenAuthenticator.Entry, now: Int64, secure: Bool = false) -> String {
        let expiry = now / 1000 + lifetime
        let name = hex(Array(entry.name.utf8))
        let value = "\(name).\(expiry).\(signature(entry, name: name, expiry: expiry))"
        return "\(cookieName)=\(value); Path=/; Max-Age=\(lifetime); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// The `Set-Cookie` value that ends a session.
    static let expired = "\(cookieName)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"

    /// The token entry a request's session cookie names, when the cookie is intact, unexpired
    /// and its token still holds the `read` scope.
    static func entry(_ request: Request, tokens: TokenAuthenticator, now: Int64) -> TokenAuthenticator.Entry? {
        guard let value = cookieValue(request) else { return nil }
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count <= 256, let expiry = Int64(parts[1]), expiry > now / 1000,
            expiry <= now / 1000 + lifetime, let nameBytes = unhex(parts[0]),
            let entry = tokens.entries.first(where: { Array($0.name.utf8) == nameBytes }),
            entry.scopes.contains(.read)
        else { return nil }
        let expected = signature(entry, name: String(parts[0]), expiry: expiry)
        guard TokenAuthenticator.constantTimeEqual(Array(expected.utf8), Array(parts[2].utf8)) else { return nil }
        return entry
    }

    /// The first `vigil_session` in the request's `Cookie` headers.
    static func cookieValue(_ request: Request) -> Substring? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let trimmed = pair.drop(while: { $0 == " " })
                if trimmed.hasPrefix(cookieName + "=") { return trimmed.dropFirst(cookieName.count + 1) }
            }
        }
        return nil
    }

    private static func signature(_ entry: TokenAuthenticator.Entry, name: String, expiry: Int64) -> String {
        let key = SymmetricKey(data: entry.secret)
        let mac = HMAC<SHA256>.authenticationCode(for: Array("vigil-console|\(name)|\(expiry)".utf8), using: key)
        return hex(Array(mac))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func unhex(_ text: Substring) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            default: nil
            }
        }
        var out: [UInt8] = []
        for i in stride(from: 0, to: chars.count, by: 2) {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
        }
        return out
    }
}

extension TokenAuthenticator {
    /// A console page's check: a Bearer header as for the API, else the session cookie. Returns
    /// the token's name (`nil` with auth off); throws 401 without either, 403 for a header
    /// token without the scope.
    func authorizeConsole(_ request: Request, scope: RouteScope, now: Int64) throws -> String? {
        guard isEnabled, scope.tokenScope != nil else { return nil }
        if request.headers[.authorization] != nil { return try authorize(request, scope: scope) }
        guard let entry = ConsoleSession.entry(request, tokens: self, now: now) else {
            throw APIError(.unauthorized, "sign in with a read token")
        }
        return entry.name
    }
}
