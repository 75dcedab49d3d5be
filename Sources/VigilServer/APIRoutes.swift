import HTTPTypes
import VigilCore

/// Every route the router serves. `buildRouter` registers exactly these, and a test checks
/// them against `/openapi.yaml` both ways.
public enum APIRoute: CaseIterable, Sendable {
    case postPredictions, postLabels, listModels, modelMetrics, modelSeries, compareModel, releaseLog, flaggerGate, putReference, postReference, listAlerts, healthz,
        readyz, metrics, openAPI

    public var method: HTTPRequest.Method {
        switch self {
        case .postPredictions, .postLabels, .postReference, .flaggerGate: .post
        case .putReference: .put
        default: .get
        }
    }

    /// Who may call the route. Every route declares one (the switch has no default), so a new
    /// route cannot become public by accident; the router checks it on the matched route, not
    /// on the raw path (`//v1/models` and `/metrics/` match the same routes).
    public var scope: RouteScope {
        switch self {
        case .postPredictions, .postLabels, .putReference, .postReference: .ingest
        // The Flagger gate only reads a verdict, whatever its method.
        case .listModels, .modelMetrics, .modelSeries, .compareModel, .releaseLog, .flaggerGate, .listAlerts, .metrics: .read
        case .healthz, .readyz, .openAPI: .open
        }
    }

    /// The path in OpenAPI's template syntax (`{name}` parameters), which Hummingbird shares.
    public var path: String {
        switch self {
        case .postPredictions: "/v1/predictions"
        case .postLabels: "/v1/labels"
        case .listModels: "/v1/models"
        case .modelMetrics: "/v1/models/{model}/metrics"
        case .modelSeries: "/v1/models/{model}/series"
        case .compareModel: "/v1/models/{model}/compare"
        case .flaggerGate: "/v1/gates/flagger"
        case .releaseLog: "/v1/models/{model}/releases"
        case .putReference, .postReference: "/v1/models/{model}/reference"
        case .listAlerts: "/v1/alerts"
        case .healthz: "/healthz"
        case .readyz: "/readyz"
        case .metrics: "/metrics"
        case .openAPI: "/openapi.yaml"
        }
    }
}

/// The authorization a route needs when tokens are configured (DESIGN §3).
public enum RouteScope: Sendable, Equatable {
    /// Liveness, readiness and the API description: answered without a token.
    case open
    /// Reads of telemetry-derived data: a token with the `read` scope.
    case read
    /// Writes: a token with the `ingest` scope.
    case ingest

    /// The token scope this route scope needs; `nil` for open routes.
    public var tokenScope: Scope? {
        switch self {
        case .open: nil
        case .read: .read
        case .ingest: .ingest
        }
    }
}
