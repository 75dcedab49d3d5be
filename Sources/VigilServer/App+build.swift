import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import VigilCore
import VigilEngine
import VigilPostgres
import VigilStorage

/// Everything the application needs of storage: events and the label join, partial buckets,
/// references, alert state, the outbox, the release log, and health. SQLite (the embedded
/// default) and PostgreSQL (replicas sharing one database) both provide it.
package typealias VigilStore = EventStore & StorageHealth & BucketStore & ReferenceStore & AlertStore & Outbox
    & ReleaseLog

/// The assembled application's parts, from which `RouteHandlers` hands each controller the
/// narrow capabilities it needs.
package struct AppServices: Sendable {
    package let config: VigilConfig
    package let store: any VigilStore
    package let metrics: MetricsCatalog
    package let tokens: TokenAuthenticator
    package let engine: WindowEngine
    package let leadership: any Leadership
    /// Open HTTP connections, counted by every connection's guard.
    let connections: ConnectionCounter
    /// Request body bytes held at once.
    let bodies: BodyBudget
    /// The one clock (tests substitute their own).
    package let clock: any VigilClock

    package init(
        config: VigilConfig, store: any VigilStore, metrics: MetricsCatalog, tokens: TokenAuthenticator,
        engine: WindowEngine, leadership: any Leadership = SoleLeader(replica: SQLiteStore.localWriter),
        connections: Int = 512, clock: any VigilClock = SystemClock()
    ) {
        self.leadership = leadership
        self.connections = ConnectionCounter(limit: connections)
        bodies = BodyBudget(limit: config.server.maxInflightBodyBytes)
        self.engine = engine
        self.config = config
        self.store = store
        self.metrics = metrics
        self.tokens = tokens
        self.clock = clock
    }
}

/// Options that are not part of the configuration file.
public struct AppOptions: Sendable {
    /// Called with the bound port once the server listens (port 0 picks a free one).
    public var onListening: @Sendable (Int) async -> Void = { _ in }
    public var environment: [String: String] = ProcessInfo.processInfo.environment
    /// The one clock every part reads time from and sleeps on.
    public var clock: any VigilClock = SystemClock()
    /// Whether windows are evaluated every `evaluation_interval`; tests that drive evaluations
    /// themselves turn it off (the flush at shutdown still runs).
    public var evaluationTimer = true
    public var expiryInterval: Duration = .seconds(60)
    /// Called with the window engine once it is built (tests drive evaluations through it).
    package var onEngine: @Sendable (WindowEngine) -> Void = { _ in }
    /// Called with the store once it is open (tests that run the router alone close it themselves).
    package var onStore: @Sendable (any VigilStore) -> Void = { _ in }
    /// How often the outbox is polled for due notifications.
    public var outboxPoll: Duration = .milliseconds(200)
    /// How long one notification delivery may take, answer included (tests shorten it).
    public var notificationTimeout: Duration = .seconds(10)
    public init() {}
}

/// Opens storage, wires the router and background services, and returns the application.
public func buildApplication(config: VigilConfig, options: AppOptions = AppOptions(), logger: Logger) async throws
    -> some ApplicationProtocol
{
    let tokens = try TokenAuthenticator(config: config.auth, environment: options.environment)
    if !tokens.isEnabled && !["127.0.0.1", "localhost", "::1"].contains(config.server.host) {
        logger.warning(
            """
            *** Binding \(config.server.host) with no auth tokens: anyone who can reach this port can write and read \
            model telemetry. Configure auth.tokens. ***
            """)
    }
    let clock = options.clock
    let store = try openStore(config, environment: options.environment, clock: clock, logger: logger)
    options.onStore(store)
    let metrics = MetricsCatalog()
    metrics.seed(from: store.registry.snapshot().values)
    let secrets = try notifierSecrets(config, environment: options.environment)
    let templateEnvironment = try notifierEnvironment(config, environment: options.environment)
    let externalURL = "http://\(config.server.host):\(config.server.port)"
    let alerts = try AlertEngine(config: config, store: store, externalURL: externalURL, logger: logger)
    metrics.seedDeliveries(notifiers: config.notifiers.keys)
    let leadership = (store as? PostgresStore)?.leadership ?? SoleLeader(replica: SQLiteStore.localWriter)
    let engine = try WindowEngine(
        config: config, events: store, buckets: store, references: store, alerts: alerts, releases: store,
        leadership: leadership, clock: clock, logger: logger)
    options.onEngine(engine)
    let services = AppServices(
        config: config, store: store, metrics: metrics, tokens: tokens, engine: engine, leadership: leadership,
        connections: config.server.maxConnections, clock: clock)
    var app = httpApplication(buildRouter(services), services, onListening: options.onListening, logger: logger)
    // Shut down in reverse order: the server drains in-flight requests first, then the
    // evaluation service folds and flushes, then the store commits what is queued and closes.
    app.addServices(
        StoreService(store: store, logger: logger),
        LabelExpiryService(events: store, interval: options.expiryInterval, clock: clock, logger: logger),
        engine.retention,
        OutboxDispatcher(
            store: store,
            sender: NotificationSender(
                client: NotificationSender.makeClient(), notifiers: config.notifiers, secrets: secrets,
                environment: templateEnvironment, timeout: options.notificationTimeout),
            leadership: leadership, releases: store, metrics: metrics, poll: options.outboxPoll, clock: clock,
            logger: logger),
        EvaluationService(
            evaluator: engine.evaluator, interval: .milliseconds(config.evaluationInterval.millis), clock: clock,
            timer: options.evaluationTimer, logger: logger))
    return app
}

/// The configured store: the SQLite file, or the shared PostgreSQL of `storage.postgres` (its
/// URL from the environment).
private func openStore(_ config: VigilConfig, environment: [String: String], clock: any VigilClock, logger: Logger)
    throws -> any VigilStore
{
    guard let postgres = config.storage.postgres else {
        return try SQLiteStore.open(path: config.storage.sqlite, config: config, clock: clock, logger: logger)
    }
    do {
        let settings = try PostgresSettings.resolve(
            postgres, environment: environment, hostName: ProcessInfo.processInfo.hostName)
        logger.info("opening PostgreSQL \(settings)")
        return try PostgresStore.open(settings: settings, config: config, clock: clock, logger: logger)
    } catch let invalid as PostgresSettings.Invalid {
        throw StartupError(invalid.description)
    }
}

private func storageDescription(_ config: VigilConfig) -> String {
    config.storage.postgres.map { "postgres, url from $\($0.urlEnv)" } ?? config.storage.sqlite
}

/// The HTTP/1 server around `router`: connection limit and header/idle timeouts from the config.
private func httpApplication(
    _ router: Router<AppRequestContext>, _ services: AppServices, onListening: @escaping @Sendable (Int) async -> Void,
    logger: Logger
) -> Application<RouterResponder<AppRequestContext>> {
    let config = services.config
    let server = config.server
    let http1 = HTTP1Channel.Configuration(
        additionalChannelHandlers: [
            ConnectionGuard(
                counter: services.connections, headerTimeout: .milliseconds(server.headerTimeout.millis),
                idleTimeout: .milliseconds(server.idleTimeout.millis))
        ],
        idleTimeout: .milliseconds(server.idleTimeout.millis))
    return Application(
        router: router,
        server: .http1(configuration: http1),
        configuration: .init(address: .hostname(server.host, port: server.port), serverName: "vigil"),
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? server.port
            logger.info("vigil listening on \(server.host):\(port) (storage \(storageDescription(config)))")
            await onListening(port)
        },
        logger: logger)
}

/// The router: middleware outermost first, then every `APIRoute`, each behind the auth check
/// of the scope it declares, and a `405` with `Allow` for every other method on a served path.
package func buildRouter(_ services: AppServices) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestMetricsMiddleware(metrics: services.metrics))
    router.add(middleware: ErrorMiddleware(maxBodyBytes: services.config.server.maxBodyBytes))
    let handlers = RouteHandlers(services)
    let tokens = services.tokens
    let limiter = RateLimiter(rate: services.config.server.rateLimit, clock: services.clock)
    for route in APIRoute.allCases {
        let handler = handlers.handler(route)
        let scope = route.scope
        router.on(RouterPath(route.path), method: route.method) { request, context in
            var context = context
            context.tokenName = try tokens.authorize(request, scope: scope)
            // Probes and the API description are never limited; everything else is, per token.
            if scope != .open { try limiter.admit(context.tokenName ?? "anonymous") }
            return try await handler(request, context)
        }
    }
    let alertEngine = services.engine.alerts
    ConsoleController(
        config: services.config, registry: services.store.registry, documents: services.engine.reader,
        comparisons: services.engine.reader, active: { alertEngine?.active() ?? [] }, alertStore: services.store, tokens: tokens, limiter: limiter,
        clock: services.clock
    ).register(on: router)
    for (path, methods) in Dictionary(grouping: APIRoute.allCases, by: \.path).mapValues({ $0.map(\.method) }) {
        let allow = methods.map(\.rawValue).sorted().joined(separator: ", ")
        for method in undeclaredMethods where !methods.contains(method) {
            router.on(RouterPath(path), method: method) { request, _ -> Response in
                throw APIError(
                    .methodNotAllowed, "method \(request.method) not allowed on \(path) (allowed: \(allow))",
                    headers: [.allow: allow])
            }
        }
    }
    return router
}

/// The methods a served path answers with `405` and `Allow` when it does not declare them: the
/// ones a client or fuzzer sends to an API (TRACE, OPTIONS and QUERY too, which were `404`).
private let undeclaredMethods: [HTTPRequest.Method] = [
    .get, .post, .put, .delete, .patch, .trace, .options, HTTPRequest.Method("QUERY")!,
]

/// The controller function serving each route.
struct RouteHandlers: Sendable {
    typealias Handler = @Sendable (Request, AppRequestContext) async throws -> Response
    let ingest: IngestController
    let models: ModelsController
    let health: HealthController
    let windows: WindowsController
    let series: SeriesController
    let comparisons: ComparisonsController
    let alerts: AlertsController

    /// Hands each controller the capabilities it needs, and nothing else.
    init(_ services: AppServices) {
        let engine = services.engine
        ingest = IngestController(
            config: services.config, ingest: engine.ingestor, metrics: services.metrics, bodies: services.bodies,
            clock: services.clock)
        models = ModelsController(
            config: services.config, registry: services.store.registry, references: engine.references)
        health = HealthController(
            health: services.store, leadership: services.leadership, registry: services.store.registry,
            metrics: services.metrics,
            connections: services.connections, clock: services.clock, foldDepth: { engine.folds.depth },
            exposition: { engine.exposition + (engine.alerts?.exposition() ?? []) })
        windows = WindowsController(
            config: services.config, registry: services.store.registry, documents: engine.reader,
            references: engine.references, ingest: ingest, metrics: services.metrics, bodies: services.bodies,
            clock: services.clock)
        series = SeriesController(
            config: services.config, registry: services.store.registry, documents: engine.reader, clock: services.clock)
        comparisons = ComparisonsController(
            config: services.config, registry: services.store.registry, comparisons: engine.reader,
            releases: services.store, retainedSpan: engine.reader.retainedSpan, clock: services.clock)
        let alertEngine = engine.alerts
        alerts = AlertsController(active: { alertEngine?.active() ?? [] }, store: services.store)
    }

    func handler(_ route: APIRoute) -> Handler {
        switch route {
        case .postPredictions: ingest.predictions
        case .postLabels: ingest.labels
        case .listModels: models.list
        case .modelMetrics: windows.metrics
        case .modelSeries: series.series
        case .compareModel: comparisons.compare
        case .flaggerGate: comparisons.flaggerGate
        case .releaseLog: comparisons.releaseLog
        case .putReference: windows.uploadReference
        case .postReference: windows.freezeReference
        case .listAlerts: alerts.list
        case .healthz: health.healthz
        case .readyz: health.readyz
        case .metrics: health.metrics
        case .openAPI: health.openAPI
        }
    }
}

/// The environment variables every `http` notifier's templates read (`{{ env "NAME" }}`).
/// Fails closed: a named variable that is unset or empty stops start-up.
func notifierEnvironment(_ config: VigilConfig, environment: [String: String]) throws -> [String: String] {
    var out: [String: String] = [:]
    for (name, notifier) in config.notifiers.sorted(by: { $0.key < $1.key }) {
        for variable in notifier.http?.environmentNames ?? [] {
            guard let value = environment[variable], !value.isEmpty else {
                throw StartupError("notifier '\(name)': environment variable \(variable) (read by its template) is not set")
            }
            out[variable] = value
        }
    }
    return out
}

/// The HMAC secret of every webhook notifier that names `secret_env`, read from the environment.
/// Fails closed: a named variable that is unset or empty stops start-up.
func notifierSecrets(_ config: VigilConfig, environment: [String: String]) throws -> [String: [UInt8]] {
    var out: [String: [UInt8]] = [:]
    for (name, notifier) in config.notifiers {
        guard let variable = notifier.secretEnv else { continue }
        guard let value = environment[variable], !value.isEmpty else {
            throw StartupError("notifier '\(name)': environment variable \(variable) (secret_env) is not set")
        }
        out[name] = Array(value.utf8)
    }
    return out
}
