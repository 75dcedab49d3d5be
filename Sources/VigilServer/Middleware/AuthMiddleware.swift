import HTTPTypes
import Hummingbird
import VigilCore

/// Configured tokens with their secrets read from the environment at start-up.
public struct TokenBook: Sendable {
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

    /// Compares without an early exit, so timing does not reveal the matching prefix.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }
}

/// Bearer-token auth (DESIGN §3): `POST`/`PUT` need `ingest`; `GET /v1/*` and `/metrics`
/// need `read`; health and the OpenAPI document are open. 401 without a token or with an
/// unknown one, 403 with a known token lacking the scope.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let tokens: TokenBook

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard tokens.isEnabled, let scope = Self.requiredScope(request) else { return try await next(request, context) }
        let challenge: HTTPFields = [.wwwAuthenticate: "Bearer realm=\"vigil\""]
        guard let header = request.headers[.authorization], header.count > 7,
            header.prefix(7).lowercased() == "bearer "
        else { throw APIError(.unauthorized, "missing bearer token", headers: challenge) }
        guard let entry = tokens.match(header.dropFirst(7)) else {
            throw APIError(.unauthorized, "unknown token", headers: challenge)
        }
        guard entry.scopes.contains(scope) else {
            throw APIError(.forbidden, "token '\(entry.name)' lacks the '\(scope.rawValue)' scope")
        }
        var context = context
        context.tokenName = entry.name
        return try await next(request, context)
    }

    static func requiredScope(_ request: Request) -> Scope? {
        switch request.method {
        case .post, .put, .delete, .patch: return .ingest
        default:
            let path = request.uri.path
            return path.hasPrefix("/v1/") || path == "/metrics" ? .read : nil
        }
    }
}

/// A problem that stops the service from starting, with a message for the operator.
public struct StartupError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
