import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore
import VigilCore
import VigilEngine

/// The web console (DESIGN §11): server-rendered HTML from Mustache templates embedded in the
/// binary, charts as inline SVG, no asset from outside (a Content-Security-Policy of `'self'`
/// says so to the browser). Pages need the `read` scope when tokens are configured: a Bearer
/// header or the session cookie `POST /login` sets.
struct ConsoleController: Sendable {
    let config: VigilConfig
    let registry: ModelRegistry
    let documents: any MetricsDocuments
    let comparisons: any Comparisons
    let active: @Sendable () -> [Alert]
    let alertStore: any AlertStore
    let tokens: TokenAuthenticator
    let limiter: RateLimiter
    let clock: any VigilClock
    let library: MustacheLibrary

    /// Models the overview lists, the most urgent first (the rest are counted under the table).
    static let maxOverviewModels = 500
    /// Features a model page draws.
    static let maxFeatures = 500
    /// Points of the quality chart.
    static let chartPoints = 25
    static let historyLimit = 50

    init(
        config: VigilConfig, registry: ModelRegistry, documents: any MetricsDocuments, comparisons: any Comparisons,
        active: @escaping @Sendable () -> [Alert], alertStore: any AlertStore, tokens: TokenAuthenticator,
        limiter: RateLimiter, clock: any VigilClock
    ) {
        self.config = config
        self.registry = registry
        self.documents = documents
        self.comparisons = comparisons
        self.active = active
        self.alertStore = alertStore
        self.tokens = tokens
        self.limiter = limiter
        self.clock = clock
        library = Self.makeLibrary()
    }

    static func makeLibrary() -> MustacheLibrary {
        MustacheContentTypes.register(ScalarHTMLContentType(), named: ScalarHTMLContentType.name)
        var library = MustacheLibrary()
        let templates: [(String, [UInt8])] = [
            ("head", PackageResources.head_mustache), ("foot", PackageResources.foot_mustache),
            ("overview", PackageResources.overview_mustache), ("model", PackageResources.model_mustache),
            ("alerts", PackageResources.alerts_mustache), ("login", PackageResources.login_mustache),
            ("comparisons", PackageResources.comparisons_mustache), ("compare", PackageResources.compare_mustache),
        ]
        for (name, bytes) in templates {
            // The templates are part of the binary: one that does not parse is a build defect.
            try! library.register(String(decoding: bytes, as: UTF8.self), named: name)
        }
        return library
    }

    static func modelPath(_ model: String, window: String? = nil, version: String? = nil) -> String {
        var query: [String] = []
        if let window { query.append("window=\(percentEncoded(window))") }
        if let version { query.append("version=\(percentEncoded(version))") }
        return "/console/models/\(percentEncoded(model))" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
    }

    static func percentEncoded(_ s: String) -> String { PercentEncoding.component(s) }

    // MARK: - Routes

    /// Registers the console's routes on `router`, each behind the scope it declares.
    func register(on router: Router<AppRequestContext>) {
        func page(
            _ path: String, handler: @escaping @Sendable (Request, AppRequestContext, String?) async throws -> Response
        ) {
            router.get(RouterPath(path)) { request, context in
                let user: String?
                do {
                    user = try tokens.authorizeConsole(request, scope: .read, now: clock.now)
                } catch let error as APIError where error.status == .unauthorized {
                    return Self.redirect("/login?next=\(Self.percentEncoded(Self.target(request)))")
                }
                try limiter.admit(user ?? "anonymous")
                return try await handler(request, context, user)
            }
        }
        page("/", handler: overview)
        page("/console/models/{model}", handler: modelPage)
        page("/console/alerts", handler: alertsPage)
        page("/console/comparisons", handler: comparisonsPage)
        page("/console/models/{model}/compare", handler: comparePage)
        router.get("/login") { request, _ in try await self.loginForm(request) }
        router.post("/login") { request, context in try await self.login(request, context: context) }
        router.post("/logout") { request, _ in
            try Self.requireSameOrigin(request)
            return Self.redirect("/login", headers: [.setCookie: ConsoleSession.expired])
        }
        router.get("/console/console.css") { _, _ in
            Self.asset(PackageResources.console_css, type: "text/css; charset=utf-8")
        }
        router.get("/console/console.js") { _, _ in
            Self.asset(PackageResources.console_js, type: "text/javascript; charset=utf-8")
        }
    }


    /// The path and query a request asked for, to come back to after signing in.
    static func target(_ request: Request) -> String {
        let path = request.uri.path
        let query = request.uri.query.map { "?" + $0 } ?? ""
        return path + query
    }

    /// Only a local path of printable ASCII (what `target` percent-encodes anyway): never another origin (`//host`, `/\host`, a scheme), control bytes or a character to escape.
    static func safeNext(_ raw: String?) -> String {
        guard let raw, raw.hasPrefix("/"), !raw.hasPrefix("//"), !raw.hasPrefix("/\\"), raw.utf8.count <= 1024,
            raw.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f && $0 != "\"" && $0 != "<" && $0 != ">" })
        else { return "/" }
        return raw
    }

    // MARK: - Responses

    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy:
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        .xContentTypeOptions: "nosniff", HTTPField.Name("Referrer-Policy")!: "no-referrer", .cacheControl: "no-store",
        HTTPField.Name("X-Frame-Options")!: "DENY",
    ]

    func html(_ template: String, _ object: Any, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        let text = library.render(object, withTemplate: template) ?? "template \(template) missing"
        var fields = Self.securityHeaders
        fields[.contentType] = "text/html; charset=utf-8"
        fields.append(contentsOf: headers)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String, headers: HTTPFields = [:]) -> Response {
        var fields = securityHeaders
        fields[.location] = location
        fields.append(contentsOf: headers)
        return Response(status: .seeOther, headers: fields)
    }

    static func asset(_ bytes: [UInt8], type: String) -> Response {
        var fields = securityHeaders
        fields[.contentType] = type
        fields[.cacheControl] = "public, max-age=300"
        return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The header and footer; the firing count only for a signed-in (or auth-off) reader.
    func chrome(_ title: String, user: String?, showsAlerts: Bool = true) -> ConsoleViews.Chrome {
        let firing = showsAlerts ? active().filter { $0.state == .firing }.count : 0
        return ConsoleViews.Chrome(
            title: title, firingCount: firing > 0 ? firing : nil, signedIn: user,
            renderedAt: ConsoleViews.time(clock.now))
    }

    // MARK: - Sign-in

    func loginForm(_ request: Request) async throws -> Response {
        let next = Self.safeNext(request.uri.queryParameters["next"].map(String.init))
        guard tokens.isEnabled else { return Self.redirect(next) }
        return html("login", ConsoleViews.Login(chrome: chrome("Sign in", user: nil, showsAlerts: false), next: next, error: nil))
    }

    /// `token=…&next=…` (a form post, at most 8 KiB) from this server's own page. Limited like
    /// a read, per client address (a key no token name can take), so guessing tokens costs a 429.
    func login(_ request: Request, context: AppRequestContext) async throws -> Response {
        try limiter.admit("\u{0}console-login:" + (context.remoteAddress ?? "unknown"))
        try Self.requireSameOrigin(request)
        let body = try await IngestController.collect(request, limit: 8192, timeout: config.server.bodyTimeout)
        let form = Self.form(String(buffer: body))
        let next = Self.safeNext(form["next"])
        guard tokens.isEnabled else { return Self.redirect(next) }
        guard let token = form["token"], let entry = tokens.match(Substring(token)), entry.scopes.contains(.read)
        else {
            return html(
                "login",
                ConsoleViews.Login(
                    chrome: chrome("Sign in", user: nil, showsAlerts: false), next: next,
                    error: "That token is unknown or lacks the read scope."), status: .unauthorized)
        }
        let secure = request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
        return Self.redirect(
            next, headers: [.setCookie: ConsoleSession.cookie(for: entry, now: clock.now, secure: secure)])
    }

    /// A form post from another site is refused (`403`): the browser says so in `Sec-Fetch-Site`,
    /// or in an `Origin` whose host is not this request's `Host`. Clients sending neither (curl)
    /// pass.
    static func requireSameOrigin(_ request: Request) throws {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], site != "same-origin", site != "none" {
            throw APIError(.forbidden, "sign-in and sign-out come from this server's own page")
        }
        if let origin = request.headers[.origin], origin != "null" {
            let host = origin.split(separator: "/").dropFirst().first.map(String.init)
            guard let host, host == request.head.authority else {
                throw APIError(.forbidden, "sign-in and sign-out come from this server's own page")
            }
        }
    }

    /// An `application/x-www-form-urlencoded` body's fields (the first of each name).
    static func form(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String? { s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let key = decode(kv[0]), out[key] == nil else { continue }
            out[key] = kv.count > 1 ? decode(kv[1]) : ""
        }
        return out
    }
}
