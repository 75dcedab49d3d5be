/// The OpenAPI 3.1 document of the API as built: `Resources/openapi.yaml`, embedded in the binary
/// and served at `/openapi.yaml`. `OpenAPITests` checks that its paths and methods are exactly
/// the router's (`APIRoute`) and that its limits, patterns and reason codes are the server's
/// own; `FuzzTests` runs Schemathesis against it, so every schema says exactly what the server
/// accepts: a request the schema admits is never refused with `400`, one it rejects is never
/// answered `2xx`, and every status a route can give is declared.
///
/// Ingest bodies are batches validated item by item (README, "Ingestion"): the request schema
/// admits any item, and `Prediction` / `Label` / `ReferenceRow` describe the items that are
/// stored. An item they admit is rejected only for a reason that depends on the server's state
/// (`future_timestamp`, the `*_limit` reasons, `type_mismatch` against a declared feature type,
/// `corrupt_record`).
enum OpenAPIDocument {
    /// The document's text.
    static let yaml = String(decoding: PackageResources.openapi_yaml, as: UTF8.self)
}
