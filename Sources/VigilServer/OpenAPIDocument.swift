/// The OpenAPI 3.1 document of the API as built, served at `/openapi.yaml`. `OpenAPITests` checks
/// that its paths and methods are exactly the router's (`APIRoute`); `FuzzTests` runs Schemathesis
/// against it, so every schema says exactly what the server accepts: a request the schema admits
/// is never refused with `400`, one it rejects is never answered `2xx`, and every status a route
/// can give is declared.
///
/// Ingest bodies are batches validated item by item (README, "Ingestion"): the request schema
/// admits any item, and `Prediction` / `Label` / `ReferenceRow` describe the items that are
/// stored. An item they admit is rejected only for a reason that depends on the server's state
/// (`future_timestamp`, the `*_limit` reasons, `type_mismatch` against a declared feature type,
/// `corrupt_record`).
enum OpenAPIDocument {
    // MARK: - Patterns (no anchors; Swift strings so the two timestamp forms are written once)

    /// Years whose every instant is inside 1970…9999 whatever the UTC offset.
    private static let innerYear = "(197[1-9]|19[89][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
    /// Month and day; 29 February is left out (valid only in leap years, which a pattern cannot tell).
    private static let monthDay =
        "((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))"
    private static let offset = "([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"

    /// RFC 3339 as `Timestamp.parseRFC3339` reads it, within 1970-01-01 and 9999-12-31 (the
    /// first and last year only in UTC, where an offset could leave the range). `separators`
    /// between date and time: a query value leaves out the space, which forms encode as `+`.
    static func dateTimePattern(separators: String = "Tt ") -> String {
        let time = "[\(separators)]([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)([.][0-9]+)?"
        return "(\(innerYear)-\(monthDay)\(time)\(offset)|(1970|9999)-\(monthDay)\(time)[Zz])"
    }

    /// Unix seconds as a query value: up to 253402300799 (9999-12-31T23:59:59Z), digit by digit.
    static let unixSecondsPattern =
        "([0-9]{1,11}([.][0-9]+)?|(0[0-9]{11}|1[0-9]{11}|2[0-4][0-9]{10}|25[0-2][0-9]{9}|253[0-3][0-9]{8}"
        + "|25340[01][0-9]{6}|253402[0-2][0-9]{5}|253402300[0-6][0-9]{2}|2534023007[0-8][0-9]|25340230079[0-9])"
        + "([.][0-9]{1,3})?)"

    /// A window width that every default configuration serves from memory: 1 minute to 24 hours.
    static let windowPattern = "^(([1-9][0-9]{0,2}|1[0-3][0-9]{2}|14[0-3][0-9]|1440)m|([1-9]|1[0-9]|2[0-4])h|1d)$"

    /// `"code": {$ref: …}` lines for the error responses of an operation (eight spaces in).
    private static func errors(_ codes: Int...) -> String {
        let names = [
            400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
            408: "RequestTimeout", 409: "Conflict", 413: "ContentTooLarge", 429: "TooManyRequests",
            503: "Unavailable",
        ]
        return codes.map { "\"\($0)\": {$ref: '#/components/responses/\(names[$0]!)'}" }
            .joined(separator: "\n        ")
    }

    static let yaml = """
        openapi: 3.1.0
        info:
          title: Vigil
          version: "1.0.0"
          description: >-
            Production model-quality monitoring. Model-serving services push predictions and,
            later, ground-truth labels; Vigil stores them durably and exports metrics. Every error
            body is {"error": "<reason>"}. Every served path answers a method it does not declare
            with 405 and an Allow header.
        security:
          - {}
          - bearer: []
        paths:
          /v1/predictions:
            post:
              summary: Ingest predictions
              description: >-
                A JSON array, {"predictions": [...]}, a single prediction object, or NDJSON
                (Content-Type application/x-ndjson). Items are validated one by one: an item that is
                not a valid Prediction is rejected in errors[] with a reason, the rest are stored, and
                the response is sent after every accepted item is durably committed. Re-sending a
                stored (model, id) is a no-op counted in duplicates.
              requestBody:
                required: true
                content:
                  application/json:
                    schema: {$ref: '#/components/schemas/PredictionBatch'}
                  application/x-ndjson:
                    schema: {type: string, description: one prediction object per line}
              responses:
                "200": {$ref: '#/components/responses/Ingest'}
                \(errors(400, 401, 403, 405, 408, 413, 429, 503))
          /v1/labels:
            post:
              summary: Ingest labels
              description: >-
                Same shapes as predictions ({"labels": [...]}). A label joins its prediction by
                (model, id); one that arrives first is held until the prediction arrives or the
                model's label_ttl passes. An identical re-send is a duplicate; a different label
                for the same id replaces the earlier one.
              requestBody:
                required: true
                content:
                  application/json:
                    schema: {$ref: '#/components/schemas/LabelBatch'}
                  application/x-ndjson:
                    schema: {type: string, description: one label object per line}
              responses:
                "200": {$ref: '#/components/responses/Ingest'}
                \(errors(400, 401, 403, 405, 408, 413, 429, 503))
          /v1/models:
            get:
              summary: Models with their inferred or declared schema, versions, variants and counts
              responses:
                "200":
                  description: every model seen
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [models]
                        properties:
                          models:
                            type: array
                            items: {$ref: '#/components/schemas/Model'}
                \(errors(400, 401, 403, 405, 429, 503))
          /v1/models/{model}/metrics:
            get:
              summary: The metrics document of one window (drift, quality, estimated quality, calibration, fairness, data quality, custom metrics)
              description: >-
                Configured windows of all series or of one version come from the last evaluation
                (every evaluation_interval); variants, other widths and windows ending in the past
                ('to') are merged on request. Values that cannot be computed are null beside counts.
                A window may be any duration from 1m to storage.aggregate_retention when 'to' is
                given, and up to the span kept in memory otherwise; the pattern lists the widths
                every configuration serves.
              parameters:
                - {$ref: '#/components/parameters/Model'}
                - {name: window, in: query, schema: {type: string, default: 1h, pattern: '\(windowPattern)'}, description: "a duration: 5m, 1h, 24h"}
                - {name: version, in: query, schema: {type: string}}
                - {name: variant, in: query, schema: {type: string}}
                - name: to
                  in: query
                  description: "end of a past window: RFC 3339 or Unix seconds, 1970 to 9999"
                  schema: {type: string, pattern: '^(\(dateTimePattern(separators: "Tt"))|\(unixSecondsPattern))$'}
              responses:
                "200":
                  description: the window's document (README, "The metrics document")
                  content:
                    application/json:
                      schema: {$ref: '#/components/schemas/MetricsDocument'}
                \(errors(400, 401, 403, 404, 405, 429, 503))
          /v1/models/{model}/reference:
            put:
              summary: Replace the reference with the predictions in the body
              description: >-
                Same shapes as POST /v1/predictions, with at least one valid row (else 400); rows
                omit model (the path names it; a row naming another model is rejected) and may
                carry label inline, which calibrates confidences for estimated quality. Reference
                rows count in no window and in no _total.
              parameters:
                - {$ref: '#/components/parameters/Model'}
              requestBody:
                required: true
                content:
                  application/json:
                    schema: {$ref: '#/components/schemas/ReferenceBatch'}
                  application/x-ndjson:
                    schema: {type: string, description: one reference row per line}
              responses:
                "200": {$ref: '#/components/responses/Reference'}
                \(errors(400, 401, 403, 405, 408, 413, 429, 503))
            post:
              summary: Freeze stored live traffic with event time in [from, to] as the reference
              description: >-
                404 when the model is unknown; 409 when the range holds no stored prediction (also
                when 'from' is after 'to').
              parameters:
                - {$ref: '#/components/parameters/Model'}
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      required: [from, to]
                      properties:
                        from: {$ref: '#/components/schemas/Instant'}
                        to: {$ref: '#/components/schemas/Instant'}
                        version: {type: [string, 'null']}
              responses:
                "200": {$ref: '#/components/responses/Reference'}
                \(errors(400, 401, 403, 404, 405, 408, 409, 413, 429, 503))
          /v1/alerts:
            get:
              summary: Pending and firing alerts; history with state=resolved
              parameters:
                - {name: state, in: query, schema: {type: string, enum: [active, pending, firing, resolved], default: active}}
                - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 100}}
              responses:
                "200":
                  description: alerts, newest first
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [alerts]
                        properties:
                          alerts:
                            type: array
                            items: {$ref: '#/components/schemas/Alert'}
                \(errors(400, 401, 403, 405, 429, 503))
          /healthz:
            get:
              summary: Liveness
              security: []
              responses:
                "200": {$ref: '#/components/responses/Status'}
                \(errors(400, 405, 429, 503))
          /readyz:
            get:
              summary: Readiness (storage open, migrations applied, taking writes); 503 with Retry-After otherwise
              security: []
              responses:
                "200": {$ref: '#/components/responses/Status'}
                \(errors(400, 405, 429, 503))
          /metrics:
            get:
              summary: Prometheus text exposition format 0.0.4
              responses:
                "200":
                  description: metrics
                  content:
                    text/plain:
                      schema: {type: string}
                \(errors(400, 401, 403, 405, 429, 503))
          /openapi.yaml:
            get:
              summary: This document
              security: []
              responses:
                "200":
                  description: the OpenAPI document
                  content:
                    application/yaml:
                      schema: {type: string}
                \(errors(400, 405, 429, 503))
        \(components)
        """
}
