import HTTPTypes
import Hummingbird
import VigilCore

/// Configured tokens with their secrets read from the environment at start-up.
public struct TokenAuthenticator: Sendable {
    struct Entry: Sendable {
        var name: String
        var secret: [UInt8]
        var scopes: Set<Scope>
    }

    let entries: [Entry]

    /// Whether any token is configured (auth is off otherwise).
    public var isEnabled: Bool { !entries.isEmpty }

    /// Reads every token's secret from `environment`; a missing or empty variable is an error,
    /// so a misconfigured deployment fails closed instead of running open.
    public init(config: AuthConfig, environment: [String: String]) throws {
        entries = try config.tokens.map { token in
            guard let secret = environment[token.env], !secret.isEmpty else {
                throw StartupError("token '\(token.name)': environment variable \(token.env) is not set")
            }
            return Entry(name: token.name, secret: Array(secret.utf8), scopes: token.scopes)
        }
    }

    /// The token matching `presented`, compared in constant time against every entry.
    func match(_ presented: Substring) -> Entry? {
        let bytes = Array(presented.utf8)
        var found: Entry?
        for entry in entries where Self.constantTimeEqual(entry.secret, bytes) && found == nil {
            found = entry
        }
        return found
    }

    /// Compares without an early exit, so timing does not reveal the matching prefix. A length
    /// difference is a flag of its own, never truncated into the byte accumulator.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference: UInt8 = a.count == b.count ? 0 : 1
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }

    /// Checks a request against the scope its matched route declares (DESIGN §3): 401 without a
    /// token or with an unknown one, 403 with a known token lacking the scope. Returns the name
    /// of the token that authenticated the request (`nil` for open routes or with auth off).
    func authorize(_ request: Request, scope: RouteScope) throws -> String? {
        guard isEnabled, let needed = scope.tokenScope else { return nil }
        let challenge: HTTPFields = [.wwwAuthenticate: "Bearer realm=\"vigil\""]
        guard let header = request.headers[.authorization], header.count > 7,
            header.prefix(7).lowercased() == "bearer "
        else { throw APIError(.unauthorized, "missing bearer token", headers: challenge) }
        guard let entry = match(header.dropFirst(7)) else {
            throw APIError(.unauthorized, "unknown token", headers: challenge)
        }
        guard entry.scopes.contains(needed) else {
            throw APIError(.forbidden, "token '\(entry.name)' lacks the '\(needed.rawValue)' scope")
        }
        return entry.name
    }
}

/// A problem that stops the service from starting, with a message for the operator.
public struct StartupError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
