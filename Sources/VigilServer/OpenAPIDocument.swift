/// The OpenAPI 3 document of the API as built, served at `/openapi.yaml`. A test checks that
/// its paths and methods are exactly the router's (`APIRoute`).
enum OpenAPIDocument {
    static let yaml = """
        openapi: 3.0.3
        info:
          title: Vigil
          version: "1.0.0"
          description: >-
            Production model-quality monitoring. Model-serving services push predictions and,
            later, ground-truth labels; Vigil stores them durably and exports metrics.
        security:
          - {}
          - bearer: []
        paths:
          /v1/predictions:
            post:
              summary: Ingest predictions
              description: >-
                A JSON array, {"predictions": [...]}, a single prediction object, or NDJSON
                (Content-Type application/x-ndjson). Invalid items are rejected one by one; the
                response is sent after every accepted item is durably committed. Re-sending a
                stored (model, id) is a no-op counted in duplicates.
              requestBody: {$ref: '#/components/requestBodies/Predictions'}
              responses:
                "200": {$ref: '#/components/responses/Ingest'}
                "400": {$ref: '#/components/responses/Error'}
                "401": {$ref: '#/components/responses/Error'}
                "403": {$ref: '#/components/responses/Error'}
                "413": {$ref: '#/components/responses/Error'}
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
                    schema:
                      oneOf:
                        - type: array
                          items: {$ref: '#/components/schemas/Label'}
                        - type: object
                          required: [labels]
                          properties:
                            labels:
                              type: array
                              items: {$ref: '#/components/schemas/Label'}
                        - $ref: '#/components/schemas/Label'
                  application/x-ndjson:
                    schema: {type: string, description: one label object per line}
              responses:
                "200": {$ref: '#/components/responses/Ingest'}
                "400": {$ref: '#/components/responses/Error'}
                "401": {$ref: '#/components/responses/Error'}
                "403": {$ref: '#/components/responses/Error'}
                "413": {$ref: '#/components/responses/Error'}
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
                "401": {$ref: '#/components/responses/Error'}
                "403": {$ref: '#/components/responses/Error'}
          /v1/models/{model}/metrics:
            get:
              summary: The metrics document of one window (drift, quality, estimated quality, calibration, fairness, data quality, custom metrics)
              description: >-
                Configured windows of all series or of one version come from the last evaluation
                (every evaluation_interval); variants, other widths and windows ending in the past
                ('to') are merged on request. Values that cannot be computed are null beside counts.
              parameters:
                - {name: model, in: path, required: true, schema: {type: string}}
                - {name: window, in: query, schema: {type: string, default: 1h}, description: "a duration: 5m, 1h, 24h"}
                - {name: version, in: query, schema: {type: string}}
                - {name: variant, in: query, schema: {type: string}}
                - {name: to, in: query, schema: {type: string}, description: "end of a past window: RFC 3339 or Unix seconds"}
              responses:
                "200":
                  description: the window's document (README, "The metrics document")
                  content:
                    application/json:
                      schema: {$ref: '#/components/schemas/MetricsDocument'}
                "400": {$ref: '#/components/responses/Error'}
                "401": {$ref: '#/components/responses/Error'}
                "403": {$ref: '#/components/responses/Error'}
                "404": {$ref: '#/components/responses/Error'}
          /v1/models/{model}/reference:
            put:
              summary: Replace the reference with the predictions in the body
              description: >-
                Same shapes as POST /v1/predictions; items may omit model (the path names it) and may
                carry label inline, which calibrates confidences for estimated quality. Reference rows
                count in no window and in no _total.
              parameters:
                - {name: model, in: path, required: true, schema: {type: string}}
              requestBody: {$ref: '#/components/requestBodies/Predictions'}
              responses:
                "200": {$ref: '#/components/responses/Reference'}
                "400": {$ref: '#/components/responses/Error'}
                "401": {$ref: '#/components/responses/Error'}
                "403": {$ref: '#/components/responses/Error'}
                "413": {$ref: '#/components/responses/Error'}
            post:
              summary: Freeze stored live traffic with event time in [from, to] as the reference
              parameters:
                - {name: model, in: path, required: true, schema: {type: string}}
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      required: [from, to]
                      properties:
                        from: {oneOf: [{type: string, format: date-time}, {type: number}]}
                        to: {oneOf: [{type: string, format: date-time}, {type: number}]}
                        version: {type: string}
              responses:
                "200": {$ref: '#/components/responses/Reference'}
                "400": {$ref: '#/components/responses/Error'}
                "401": {$ref: '#/components/responses/Error'}
                "403": {$ref: '#/components/responses/Error'}
                "404": {$ref: '#/components/responses/Error'}
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
                            items:
                              type: object
                              properties:
                                name: {type: string}
                                model: {type: string}
                                state: {type: string, enum: [pending, firing, resolved]}
                                labels: {type: object, additionalProperties: {type: string}}
                                annotations: {type: object, additionalProperties: {type: string}}
                                value: {type: number}
                                active_at: {type: string, format: date-time}
                                fired_at: {type: string, format: date-time, nullable: true}
                                resolved_at: {type: string, format: date-time, nullable: true}
                                fingerprint: {type: string}
                "400": {$ref: '#/components/responses/Error'}
                "401": {$ref: '#/components/responses/Error'}
                "403": {$ref: '#/components/responses/Error'}
          /healthz:
            get:
              summary: Liveness
              security: []
              responses:
                "200": {$ref: '#/components/responses/Status'}
          /readyz:
            get:
              summary: Readiness (storage open, migrations applied, answering)
              security: []
              responses:
                "200": {$ref: '#/components/responses/Status'}
                "503": {$ref: '#/components/responses/Error'}
          /metrics:
            get:
              summary: Prometheus text exposition format 0.0.4
              responses:
                "200":
                  description: metrics
                  content:
                    text/plain:
                      schema: {type: string}
                "401": {$ref: '#/components/responses/Error'}
                "403": {$ref: '#/components/responses/Error'}
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
        components:
          securitySchemes:
            bearer: {type: http, scheme: bearer}
          requestBodies:
            Predictions:
              description: predictions as a JSON array, a wrapper object, a single object, or NDJSON
              required: true
              content:
                application/json:
                  schema:
                    oneOf:
                      - type: array
                        items: {$ref: '#/components/schemas/Prediction'}
                      - type: object
                        required: [predictions]
                        properties:
                          predictions:
                            type: array
                            items: {$ref: '#/components/schemas/Prediction'}
                      - $ref: '#/components/schemas/Prediction'
                application/x-ndjson:
                  schema: {type: string, description: one prediction object per line}
          responses:
            Error:
              description: error
              content:
                application/json:
                  schema:
                    type: object
                    required: [error]
                    properties:
                      error: {type: string}
            Status:
              description: status
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      status: {type: string}
            Ingest:
              description: per-item outcome of an ingest request
              content:
                application/json:
                  schema:
                    type: object
                    required: [accepted, duplicates, rejected, errors]
                    properties:
                      accepted: {type: integer}
                      duplicates: {type: integer}
                      rejected: {type: integer}
                      errors:
                        type: array
                        items:
                          type: object
                          required: [index, reason, error]
                          properties:
                            index: {type: integer}
                            id: {type: string}
                            reason: {type: string}
                            error: {type: string}
            Reference:
              description: the installed reference
              content:
                application/json:
                  schema:
                    type: object
                    required: [model, source, rows, labeled]
                    properties:
                      model: {type: string}
                      source: {type: string, enum: [first, upload, frozen]}
                      rows: {type: integer}
                      labeled: {type: integer}
                      rejected: {type: integer}
                      errors: {type: array, items: {type: object}}
          schemas:
            MetricsDocument:
              type: object
              required: [model, window, from, to, counts, drift, quality, estimated, calibration, fairness, data_quality, metrics]
              properties:
                model: {type: string}
                version: {type: string, nullable: true}
                variant: {type: string, nullable: true}
                window: {type: string}
                from: {type: string, format: date-time}
                to: {type: string, format: date-time}
                task: {type: string, enum: [binary, multiclass, regression, generative]}
                counts:
                  type: object
                  properties:
                    predictions: {type: integer}
                    labeled: {type: integer}
                    label_coverage: {type: number, nullable: true}
                reference: {type: object, nullable: true}
                drift: {type: object, nullable: true}
                quality: {type: object, nullable: true}
                estimated: {type: object, nullable: true}
                calibration: {type: object, nullable: true}
                fairness: {type: object}
                data_quality: {type: object}
                metrics: {type: object}
                label_metrics: {type: object}
            Timestamp:
              oneOf:
                - {type: string, format: date-time}
                - {type: number, description: Unix seconds}
            Scalar:
              oneOf:
                - {type: string}
                - {type: number}
                - {type: boolean}
            Prediction:
              type: object
              required: [id, model, prediction]
              properties:
                id: {type: string, minLength: 1, maxLength: 256}
                model: {type: string, pattern: '^[A-Za-z0-9_.-]{1,64}$'}
                version: {type: string, default: default}
                variant: {type: string}
                timestamp: {$ref: '#/components/schemas/Timestamp'}
                features:
                  type: object
                  additionalProperties:
                    nullable: true
                    oneOf:
                      - {type: string}
                      - {type: number}
                      - {type: boolean}
                prediction: {$ref: '#/components/schemas/Scalar'}
                confidence: {type: number, minimum: 0, maximum: 1}
                scores:
                  type: object
                  additionalProperties: {type: number, minimum: 0, maximum: 1}
                segments:
                  type: object
                  additionalProperties: {$ref: '#/components/schemas/Scalar'}
                metrics:
                  type: object
                  additionalProperties: {type: number}
            Label:
              type: object
              required: [id, model]
              properties:
                id: {type: string, minLength: 1, maxLength: 256}
                model: {type: string, pattern: '^[A-Za-z0-9_.-]{1,64}$'}
                label: {$ref: '#/components/schemas/Scalar'}
                timestamp: {$ref: '#/components/schemas/Timestamp'}
                metrics:
                  type: object
                  additionalProperties: {type: number}
            Model:
              type: object
              properties:
                name: {type: string}
                task: {type: string, enum: [binary, multiclass, regression, generative]}
                task_declared: {type: boolean}
                positive_class: {type: string, nullable: true}
                features:
                  type: array
                  items:
                    type: object
                    properties:
                      name: {type: string}
                      type: {type: string, enum: [numeric, categorical], nullable: true}
                      declared: {type: boolean}
                      missing: {type: integer}
                      type_conflicts: {type: integer}
                classes: {type: object, additionalProperties: {type: integer}}
                segments:
                  type: object
                  additionalProperties: {type: object, additionalProperties: {type: integer}}
                configured_segments:
                  type: array
                  items: {type: array, items: {type: string}}
                versions: {type: object, additionalProperties: {type: integer}}
                variants: {type: object, additionalProperties: {type: integer}}
                prediction_metrics: {type: array, items: {type: string}}
                label_metrics: {type: array, items: {type: string}}
                label_ttl: {type: string}
                reference:
                  type: object
                  properties:
                    source: {type: string}
                    first: {type: integer}
                counts: {type: object, additionalProperties: {type: integer, nullable: true}}
                label_coverage: {type: number, nullable: true}
                overflow: {type: object, additionalProperties: {type: integer}}
        """
}
