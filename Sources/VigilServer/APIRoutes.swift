import HTTPTypes

/// Every route the router serves. `buildRouter` registers exactly these, and a test checks
/// them against `/openapi.yaml` both ways.
public enum APIRoute: CaseIterable, Sendable {
    case postPredictions, postLabels, listModels, modelMetrics, putReference, postReference, listAlerts, healthz,
        readyz, metrics, openAPI

    public var method: HTTPRequest.Method {
        switch self {
        case .postPredictions, .postLabels, .postReference: .post
        case .putReference: .put
        default: .get
        }
    }

    /// The path in OpenAPI's template syntax (`{name}` parameters), which Hummingbird shares.
    public var path: String {
        switch self {
        case .postPredictions: "/v1/predictions"
        case .postLabels: "/v1/labels"
        case .listModels: "/v1/models"
        case .modelMetrics: "/v1/models/{model}/metrics"
        case .putReference, .postReference: "/v1/models/{model}/reference"
        case .listAlerts: "/v1/alerts"
        case .healthz: "/healthz"
        case .readyz: "/readyz"
        case .metrics: "/metrics"
        case .openAPI: "/openapi.yaml"
        }
    }
}
