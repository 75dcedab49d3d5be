import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import VigilCore
import VigilEngine

@testable import VigilServer

/// The web console (DESIGN §11) through the router: what each page shows, that user data is
/// escaped, and that with tokens configured nothing about a model reaches a request without a
/// read credential (Bearer header or the session cookie of `POST /login`).
@Suite struct ConsoleTests {
    /// 2026-11-20T10:00:00Z.
    static let t0: Int64 = 1_795_600_800_000

    static var config: VigilConfig {
        var config = VigilConfig()
        var model = ModelConfig()
        model.positiveClass = "fraud"
        model.segments = [["region"]]
        config.models["fraud"] = model
        return config
    }

    static let hostileFeature = "<script>alert(1)</script>"
    /// A quote followed by a combining mark: one `Character` that is not `"` (CVE-2026-27120's
    /// bypass of escapers that compare characters).
    static let combiningFeature = "q\"\u{301} onmouseover=alert(1) x"

    /// A reference and a drifted, labelled, segmented window for `fraud`.
    static func feed(_ client: some TestClientProtocol, headers: HTTPFields = [:], at now: Int64) async throws {
        func item(_ i: Int, shift: Double, at t: Int64?) -> JSONValue {
            var members: [(String, JSONValue)] = [
                ("id", .string("\(t == nil ? "r" : "p")\(i)")), ("model", .string("fraud")),
                ("prediction", .string(i % 3 == 0 ? "fraud" : "ok")), ("confidence", .number(0.55 + Double(i % 4) / 10)),
                (
                    "features",
                    .object([
                        ("amount", .number(Double(i % 50) + shift)), ("country", .string(i % 2 == 0 ? "DE" : "FR")),
                        (hostileFeature, .number(Double(i % 7))), (combiningFeature, .number(Double(i % 3))),
                    ])
                ),
                ("segments", .object([("region", .string(i % 5 == 0 ? "eu" : "us"))])),
                ("metrics", .object([("latency_ms", .number(Double(20 + i % 30)))])),
                ("label", .string(i % 4 == 0 ? "ok" : (i % 3 == 0 ? "fraud" : "ok"))),
            ]
            if let t { members.append(("timestamp", .number(Double(t - Int64(i) * 1000) / 1000))) }
            return .object(members)
        }
        let reference = (0..<400).map { item($0, shift: 0, at: nil) }
        var (status, _, text) = try await client.send(
            .put, "/v1/models/fraud/reference", JSONWriter.string(.array(reference)), headers: headers)
        #expect(status == .ok, "\(text)")
        let current = (0..<600).map { item($0, shift: 40, at: now) }
        (status, _, text) = try await client.send(
            .post, "/v1/predictions", JSONWriter.string(.array(current)), headers: headers)
        #expect(status == .ok, "\(text)")
        let labels: [JSONValue] = (0..<600).map {
            .object([("id", .string("p\($0)")), ("model", .string("fraud")), ("label", .string($0 % 2 == 0 ? "fraud" : "ok"))])
        }
        (status, _, text) = try await client.send(.post, "/v1/labels", JSONWriter.string(.array(labels)), headers: headers)
        #expect(status == .ok, "\(text)")
    }

    @Test func thePagesShowTheModelAndEscapeUserData() async throws {
        let clock = ManualClock(Self.t0)
        try await withEngineApp(Self.config, clock: clock) { client, engine in
            try await Self.feed(client, at: Self.t0)
            await engine.evaluate(at: Self.t0)
            let (status, overview, _) = try await Self.page(client, "/")
            #expect(status == .ok)
            #expect(overview.contains(#"<a href="/console/models/fraud">fraud</a>"#))
            #expect(overview.contains("of 4</td>"), "drifted features of the four tested")

            let (modelStatus, page, headers) = try await Self.page(client, "/console/models/fraud?window=1h")
            #expect(modelStatus == .ok)
            #expect(headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
            #expect(headers[.contentType] == "text/html; charset=utf-8")
            for text in ["amount", "country", "drifted", "<svg class=\"hist\"", "<svg class=\"chart\"", "Confusion matrix",
                "region", "latency_ms", "Fairness per segment", "<svg class=\"reliability\"", "ECE ", "mean latency_ms"]
            {
                #expect(page.contains(text), "the model page shows \(text)")
            }
            #expect(!page.contains(Self.hostileFeature), "a feature name is escaped wherever it appears")
            #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            let scalars = Array(page.unicodeScalars)
            let rawQuoteThenMark = zip(scalars, scalars.dropFirst()).contains { $0 == "\"" && $1 == "\u{301}" }
            #expect(!rawQuoteThenMark, "a quote before a combining mark is escaped too")
            #expect(page.unicodeScalars.count > 0 && String(page.unicodeScalars).contains("&quot;\u{301} onmouseover"))
            // Nothing the page loads comes from elsewhere.
            #expect(!page.contains("http://") && !page.contains("https://") && !page.contains("//cdn"))

            let (alertsStatus, alerts, _) = try await Self.page(client, "/console/alerts")
            #expect(alertsStatus == .ok && alerts.contains("Nothing is firing or pending."))
            let (compareStatus, compare, _) = try await Self.page(
                client, "/console/models/fraud/compare?baseline=version:a&candidate=version:b&window=1h")
            #expect(compareStatus == .ok && compare.contains("inconclusive"), "\(compare)")
            let (missing, _, _) = try await Self.page(client, "/console/models/nobody")
            #expect(missing == .notFound)
            let (css, cssBody, cssHeaders) = try await Self.page(client, "/console/console.css")
            #expect(css == .ok && cssBody.contains("svg") && cssHeaders[.contentType] == "text/css; charset=utf-8")
        }
    }

    static func page(_ client: some TestClientProtocol, _ uri: String, headers: HTTPFields = [:]) async throws
        -> (HTTPResponse.Status, String, HTTPFields)
    {
        try await client.execute(uri: uri, method: .get, headers: headers, body: nil) { response in
            (response.status, String(buffer: response.body), response.headers)
        }
    }

    static func post(_ client: some TestClientProtocol, _ uri: String, form: String, headers: HTTPFields = [:])
        async throws -> (HTTPResponse.Status, String, HTTPFields)
    {
        var headers = headers
        headers[.contentType] = "application/x-www-form-urlencoded"
        return try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: form)) {
            response in (response.status, String(buffer: response.body), response.headers)
        }
    }

    static var authConfig: VigilConfig {
        var config = Self.config
        config.auth.tokens = [
            TokenConfig(name: "checkout", env: "T_INGEST", scopes: [.ingest]),
            TokenConfig(name: "oncall", env: "T_READ", scopes: [.read]),
        ]
        return config
    }
    static let environment = ["T_INGEST": "ingest-secret-1", "T_READ": "read-secret-2"]
    static let pages = [
        "/", "/console/models/fraud", "/console/models/fraud?window=24h", "/console/alerts", "/console/comparisons",
        "/console/models/fraud/compare?baseline=version:a&candidate=version:b", "/console/models/nobody",
    ]

    /// Without a credential every page redirects to the sign-in form and shows nothing of a
    /// model; an ingest token does not sign in; a read token does, through an HttpOnly,
    /// SameSite=Strict cookie that a tampered or expired copy cannot replace.
    @Test func withTokensNothingIsShownWithoutAReadCredential() async throws {
        let clock = ManualClock(Self.t0)
        try await withApp(Self.authConfig, environment: Self.environment, clock: clock) { client in
            try await Self.feed(client, headers: [.authorization: "Bearer ingest-secret-1"], at: Self.t0)
            for path in Self.pages {
                for headers: HTTPFields in [
                    [:], [.cookie: "vigil_session=garbage"], [.cookie: "vigil_session=6f6e63616c6c.99999999999.00"],
                ] {
                    let (status, body, h) = try await Self.page(client, path, headers: headers)
                    #expect(status == .seeOther, "\(path) \(headers)")
                    #expect(h[.location]?.hasPrefix("/login?next=") == true)
                    #expect(!body.contains("fraud") && !body.contains("amount"), "\(path) shows nothing")
                }
                let (forbidden, body, _) = try await Self.page(
                    client, path, headers: [.authorization: "Bearer ingest-secret-1"])
                #expect(forbidden == .forbidden && !body.contains("amount"), "\(path) with an ingest token")
            }
            // The Bearer header works as for the API.
            let (bearer, page, _) = try await Self.page(
                client, "/console/models/fraud", headers: [.authorization: "Bearer read-secret-2"])
            #expect(bearer == .ok && page.contains("amount"))

            // Signing in: a wrong or ingest-only token is refused with the form again.
            let (form, formBody, _) = try await Self.page(client, "/login?next=/console/alerts")
            #expect(form == .ok && formBody.contains(#"name="token""#) && formBody.contains(#"value="/console/alerts""#))
            for token in ["nope", "ingest-secret-1"] {
                let (refused, body, h) = try await Self.post(client, "/login", form: "token=\(token)&next=%2F")
                #expect(refused == .unauthorized && body.contains("unknown or lacks the read scope") && h[.setCookie] == nil)
            }
            let (signedIn, _, h) = try await Self.post(
                client, "/login", form: "token=read-secret-2&next=%2Fconsole%2Fmodels%2Ffraud")
            #expect(signedIn == .seeOther && h[.location] == "/console/models/fraud")
            let setCookie = try #require(h[.setCookie])
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Path=/"))
            #expect(!setCookie.contains("read-secret-2"), "the cookie never holds the token")
            let cookie = String(setCookie.prefix { $0 != ";" })
            let (withCookie, cookiePage, _) = try await Self.page(client, "/console/models/fraud", headers: [.cookie: cookie])
            #expect(withCookie == .ok && cookiePage.contains("amount") && cookiePage.contains("Sign out oncall"))
            // The cookie opens console pages only, not the API.
            let (api, _, _) = try await Self.page(client, "/v1/models/fraud/metrics", headers: [.cookie: cookie])
            #expect(api == .unauthorized)
            // A tampered signature or name, and an expired session, are refused.
            var tampered = cookie
            tampered.removeLast()
            tampered.append(cookie.last == "0" ? "1" : "0")
            let (bad, _, _) = try await Self.page(client, "/", headers: [.cookie: tampered])
            #expect(bad == .seeOther)
            let renamed = cookie.replacingOccurrences(
                of: ConsoleSession.hex(Array("oncall".utf8)), with: ConsoleSession.hex(Array("checkout".utf8)))
            let (other, _, _) = try await Self.page(client, "/", headers: [.cookie: renamed])
            #expect(other == .seeOther)
            clock.advance(byMillis: (ConsoleSession.lifetime + 60) * 1000)
            let (expired, _, _) = try await Self.page(client, "/", headers: [.cookie: cookie])
            #expect(expired == .seeOther)
            // Sign-out clears the cookie.
            let (out, _, outHeaders) = try await Self.post(client, "/logout", form: "", headers: [.cookie: cookie])
            #expect(out == .seeOther && outHeaders[.setCookie]?.contains("Max-Age=0") == true)
        }
    }

    /// `next` after sign-in is a local path only: never another origin.
    @Test(arguments: [
        ("%2Fconsole%2Falerts", "/console/alerts"), ("%2F%2Fevil.example", "/"), ("https%3A%2F%2Fevil.example", "/"),
        ("%2F%5Cevil.example", "/"), ("%2Fok%0D%0ASet-Cookie%3A+x", "/"), ("", "/"),
    ])
    func afterSigningInOnlyALocalPathIsFollowed(_ next: String, _ location: String) async throws {
        try await withApp(Self.authConfig, environment: Self.environment) { client in
            let (status, _, headers) = try await Self.post(client, "/login", form: "token=read-secret-2&next=\(next)")
            #expect(status == .seeOther && headers[.location] == location)
        }
    }

    /// A sign-in or sign-out posted from another site is refused; the sign-in page shows no
    /// alert count to a reader who has not signed in.
    @Test func signInComesFromThisServersOwnPage() async throws {
        try await withApp(Self.authConfig, environment: Self.environment) { client in
            for headers: HTTPFields in [
                [HTTPField.Name("Sec-Fetch-Site")!: "cross-site"], [.origin: "http://evil.example"],
                [HTTPField.Name("Sec-Fetch-Site")!: "same-site"],
            ] {
                let (status, _, h) = try await Self.post(client, "/login", form: "token=read-secret-2", headers: headers)
                #expect(status == .forbidden && h[.setCookie] == nil, "\(headers)")
                let (out, _, _) = try await Self.post(client, "/logout", form: "", headers: headers)
                #expect(out == .forbidden)
            }
            let (ok, _, h) = try await Self.post(
                client, "/login", form: "token=read-secret-2", headers: [HTTPField.Name("Sec-Fetch-Site")!: "same-origin"])
            #expect(ok == .seeOther && h[.setCookie] != nil)
            let (form, body, _) = try await Self.page(client, "/login")
            #expect(form == .ok && !body.contains("pill bad"))
        }
    }

    /// The comparisons page lists each watched pair with the verdict and reason the last
    /// evaluation gave it.
    @Test func theComparisonsPageListsWatchedPairs() async throws {
        var config = Self.config
        let pair = ComparisonPair(
            baseline: try ComparisonSide.parse("version:a").get(), candidate: try ComparisonSide.parse("version:b").get())
        config.models["fraud"]!.release.watch = [WatchConfig(pair: pair, window: TimeLength(millis: 3_600_000, text: "1h"))]
        let clock = ManualClock(Self.t0)
        try await withEngineApp(config, clock: clock) { client, engine in
            try await Self.feed(client, at: Self.t0)
            await engine.evaluate(at: Self.t0)
            let (status, page, _) = try await Self.page(client, "/console/comparisons")
            #expect(status == .ok)
            for text in ["version:a", "version:b", "<td>1h</td>", ">inconclusive<",
                "/console/models/fraud/compare?baseline=version%3Aa&amp;candidate=version%3Ab&amp;window=1h"]
            {
                #expect(page.contains(text), "the comparisons page shows \(text)")
            }
        }
    }

    /// Behind an HTTPS proxy the session cookie is `Secure`; over plain HTTP it is not.
    @Test func theCookieIsSecureBehindHTTPS() async throws {
        try await withApp(Self.authConfig, environment: Self.environment) { client in
            let (ok, _, h) = try await Self.post(
                client, "/login", form: "token=read-secret-2", headers: [HTTPField.Name("X-Forwarded-Proto")!: "https"])
            #expect(ok == .seeOther && h[.setCookie]?.hasSuffix("; Secure") == true)
            let (_, _, plain) = try await Self.post(client, "/login", form: "token=read-secret-2")
            #expect(plain[.setCookie]?.contains("Secure") == false, "plain HTTP: no Secure")
        }
    }

    /// Guessing tokens at the sign-in form costs a 429: the form has its own budget per client
    /// address (`server.rate_limit` per second), apart from the API's per-token budgets, and it
    /// refills with time. The clock is the test's, so nothing depends on how fast requests run.
    @Test func signingInIsRateLimitedPerClientAddress() async throws {
        var config = Self.authConfig
        config.server.rateLimit = 2
        let clock = ManualClock(Self.t0)
        try await withApp(config, environment: Self.environment, clock: clock) { client in
            for _ in 0..<2 {
                let (refused, _, _) = try await Self.post(client, "/login", form: "token=guess&next=%2F")
                #expect(refused == .unauthorized)
            }
            let (limited, body, h) = try await Self.post(client, "/login", form: "token=read-secret-2&next=%2F")
            #expect(limited == .tooManyRequests && h[.retryAfter] == "1" && h[.setCookie] == nil, "\(body)")
            // The API's budget of the read token is its own.
            let api = try await client.execute(
                uri: "/v1/models", method: .get, headers: [.authorization: "Bearer read-secret-2"]
            ) { $0.status }
            #expect(api == .ok)
            clock.advance(byMillis: 1000)
            let (signedIn, _, again) = try await Self.post(client, "/login", form: "token=read-secret-2&next=%2F")
            #expect(signedIn == .seeOther && again[.setCookie] != nil)
        }
    }

    /// The limiter holds at most `maxKeys` buckets: idle ones are dropped, and past the cap new
    /// keys share one overflow bucket, so many source addresses neither grow memory nor escape
    /// the limit.
    @Test func theRateLimiterBoundsItsKeys() throws {
        let clock = ManualClock(Self.t0)
        let limiter = RateLimiter(rate: 1, clock: clock, maxKeys: 3)
        for key in ["a", "b", "c", "d"] { try limiter.admit(key) }  // d: the overflow bucket
        #expect(limiter.keyCount == 4)
        #expect(throws: APIError.self) { try limiter.admit("e") }  // shares d's, now empty
        #expect(throws: APIError.self) { try limiter.admit("a") }  // its own, still empty
        clock.advance(byMillis: 1000)
        try limiter.admit("f")  // the idle buckets are dropped to make room
        #expect(limiter.keyCount <= 4)
        try limiter.admit("g")
        #expect(limiter.keyCount <= 4)
    }

    /// A histogram draws the 12 largest categories (by share on either side) and pools the rest.
    @Test func aHistogramPoolsCategoriesPastTwelve() {
        let labels = (0..<30).map { "c\($0)" }
        let bins = DriftBins(labels: labels, reference: (0..<30).map { $0 }, current: (0..<30).map { 30 - $0 })
        let pooled = SVGChart.pooled(bins, keep: 12)
        #expect(pooled.labels.count == 13 && pooled.labels.last == "(18 others)")
        #expect(pooled.reference.reduce(0, +) == bins.reference.reduce(0, +))
        #expect(pooled.current.reduce(0, +) == bins.current.reduce(0, +))
        #expect(pooled.labels.contains("c29") && pooled.labels.contains("c0") && !pooled.labels.contains("c15"))
        #expect(SVGChart.pooled(DriftBins(labels: ["a", "b"], reference: [1, 2], current: [2, 1]), keep: 12).labels == ["a", "b"])
    }

    /// Without tokens the console is open and `/login` sends the browser on.
    @Test func withoutTokensTheConsoleIsOpen() async throws {
        try await withApp(Self.config) { client in
            let (status, body, _) = try await Self.page(client, "/")
            #expect(status == .ok && body.contains("No model has sent a prediction yet"))
            let (login, _, headers) = try await Self.page(client, "/login?next=/console/alerts")
            #expect(login == .seeOther && headers[.location] == "/console/alerts")
        }
    }
}
