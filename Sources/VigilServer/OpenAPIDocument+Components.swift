import VigilCore

extension OpenAPIDocument {
    /// Every `reason` an item error can carry, from `RejectReason` itself.
    private static let reasons = RejectReason.allCases.map(\.rawValue).joined(separator: ", ")

    /// The `components` section: the responses every route shares and the item schemas, whose
    /// bounds come from the validator's own constants.
    static let components = """
        components:
          securitySchemes:
            bearer: {type: http, scheme: bearer}
          parameters:
            Model:
              name: model
              in: path
              required: true
              schema: {$ref: '#/components/schemas/ModelName'}
          headers:
            RetryAfter:
              description: seconds to wait before retrying
              required: true
              schema: {type: integer, minimum: 0}
          responses:
            BadRequest:
              description: >-
                malformed HTTP (framing, chunked encoding), a body that is not JSON or not a batch
                shape, or a bad parameter
              content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
            Unauthorized:
              description: no bearer token, or an unknown one (tokens configured)
              headers:
                WWW-Authenticate: {required: true, schema: {type: string}}
              content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
            Forbidden:
              description: the token lacks the route's scope
              content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
            NotFound:
              description: no such model
              content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
            MethodNotAllowed:
              description: the path does not serve this method; Allow lists the ones it does
              headers:
                Allow: {required: true, schema: {type: string}}
              content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
            RequestTimeout:
              description: the body did not arrive within server.body_timeout (the connection is closed)
              content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
            Conflict:
              description: nothing to act on in the stored state
              content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
            ContentTooLarge:
              description: the body exceeds server.max_body_bytes, or has more items than server.max_items_per_request
              content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
            TooManyRequests:
              description: over the request rate allowed to this client
              headers:
                Retry-After: {$ref: '#/components/headers/RetryAfter'}
              content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
            Unavailable:
              description: >-
                storage cannot take writes (disk full, read-only, locked, I/O error), or more than
                server.max_connections connections are open
              headers:
                Retry-After: {$ref: '#/components/headers/RetryAfter'}
              content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
            Status:
              description: status
              content:
                application/json:
                  schema:
                    type: object
                    required: [status]
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
                      accepted: {type: integer, minimum: 0}
                      duplicates: {type: integer, minimum: 0}
                      rejected: {type: integer, minimum: 0}
                      errors:
                        type: array
                        maxItems: 100
                        items: {$ref: '#/components/schemas/ItemError'}
                      errors_truncated:
                        type: integer
                        minimum: 1
                        description: rejected items not listed in errors (only the first 100 are)
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
                      rows: {type: integer, minimum: 0}
                      labeled: {type: integer, minimum: 0}
                      rejected: {type: integer, minimum: 0}
                      errors:
                        type: array
                        maxItems: 100
                        items: {$ref: '#/components/schemas/ItemError'}
          schemas:
            Error:
              type: object
              required: [error]
              properties:
                error: {type: string}
            ItemError:
              type: object
              required: [index, reason, error]
              properties:
                index: {type: integer, minimum: 0, description: "the item's position (for NDJSON, among non-blank lines)"}
                id: {type: string, description: the item's id when it had a readable one}
                reason: {type: string, enum: [\(reasons)]}
                error: {type: string}
        \(itemSchemas)
        \(responseSchemas)
        """

    /// What ingest accepts: batches of any items, and the items that are stored.
    private static let itemSchemas = """
            PredictionBatch:
              oneOf:
                - {$ref: '#/components/schemas/PredictionList'}
                - type: object
                  required: [predictions]
                  properties:
                    predictions: {$ref: '#/components/schemas/PredictionList'}
                - type: object
                  description: a single item
                  not: {required: [predictions]}
                  anyOf: [{$ref: '#/components/schemas/Prediction'}, {}]
            PredictionList:
              type: array
              maxItems: 10000
              description: at most server.max_items_per_request items (default 10000); each is a Prediction or is rejected on its own
              items:
                anyOf: [{$ref: '#/components/schemas/Prediction'}, {}]
            LabelBatch:
              oneOf:
                - {$ref: '#/components/schemas/LabelList'}
                - type: object
                  required: [labels]
                  properties:
                    labels: {$ref: '#/components/schemas/LabelList'}
                - type: object
                  description: a single item
                  not: {required: [labels]}
                  anyOf: [{$ref: '#/components/schemas/Label'}, {}]
            LabelList:
              type: array
              maxItems: 10000
              description: at most server.max_items_per_request items (default 10000); each is a Label or is rejected on its own
              items:
                anyOf: [{$ref: '#/components/schemas/Label'}, {}]
            ReferenceBatch:
              oneOf:
                - {$ref: '#/components/schemas/ReferenceList'}
                - type: object
                  required: [predictions]
                  properties:
                    predictions: {$ref: '#/components/schemas/ReferenceList'}
                - allOf: [{$ref: '#/components/schemas/ReferenceRow'}]
                  not: {required: [predictions]}
            ReferenceList:
              type: array
              minItems: 1
              maxItems: \(ReferenceProfile.maxRows)
              contains: {$ref: '#/components/schemas/ReferenceRow'}
              items:
                anyOf: [{$ref: '#/components/schemas/ReferenceRow'}, {}]
            ID: {type: string, minLength: 1, maxLength: \(EventValidator.maxIDLength)}
            ModelName: {type: string, pattern: '^[A-Za-z0-9_.-]{1,64}$'}
            Tag:
              description: a version or variant (version defaults to "default"); null or absent for none
              type: [string, 'null']
              pattern: '^[^\\u0000-\\u001f\\u007f-\\u009f]{1,64}$'
            Name:
              description: a feature, class, segment or metric name
              type: string
              minLength: 1
              maxLength: \(EventValidator.maxNameLength)
            Instant:
              oneOf:
                - {type: string, pattern: '^\(dateTimePattern())$', description: RFC 3339}
                - {type: number, minimum: 0, maximum: 253402300799.999, description: Unix seconds}
            Timestamp:
              description: >-
                the event time, 1970 to 9999; null or absent for the receive time. A prediction's may
                be at most limits.max_future_skew (default 1h) ahead of the server's clock
                (reason future_timestamp)
              anyOf: [{$ref: '#/components/schemas/Instant'}, {type: 'null'}]
            Output:
              description: a class, a regression value or generated text
              type: [string, number, boolean]
              maxLength: \(EventValidator.maxOutputLength)
            Value:
              description: a feature or segment value; null is missing
              type: [string, number, boolean, 'null']
              maxLength: \(EventValidator.maxNameLength)
            Metrics:
              description: custom numeric metrics; booleans count as 1 and 0
              type: [object, 'null']
              maxProperties: \(EventValidator.maxMembers)
              propertyNames: {$ref: '#/components/schemas/Name'}
              additionalProperties: {type: [number, boolean]}
            PredictionFields:
              type: object
              properties:
                id: {$ref: '#/components/schemas/ID'}
                model: {$ref: '#/components/schemas/ModelName'}
                version: {$ref: '#/components/schemas/Tag'}
                variant: {$ref: '#/components/schemas/Tag'}
                timestamp: {$ref: '#/components/schemas/Timestamp'}
                features:
                  type: [object, 'null']
                  maxProperties: \(EventValidator.maxMembers)
                  propertyNames: {$ref: '#/components/schemas/Name'}
                  additionalProperties: {$ref: '#/components/schemas/Value'}
                prediction: {$ref: '#/components/schemas/Output'}
                confidence: {type: [number, 'null'], minimum: 0, maximum: 1}
                scores:
                  description: probability of every class; booleans count as 1 and 0
                  type: [object, 'null']
                  maxProperties: \(EventValidator.maxMembers)
                  propertyNames: {$ref: '#/components/schemas/Name'}
                  additionalProperties:
                    anyOf: [{type: number, minimum: 0, maximum: 1}, {type: boolean}]
                segments:
                  type: [object, 'null']
                  maxProperties: \(EventValidator.maxMembers)
                  propertyNames: {$ref: '#/components/schemas/Name'}
                  additionalProperties: {$ref: '#/components/schemas/Value'}
                metrics: {$ref: '#/components/schemas/Metrics'}
            Prediction:
              allOf: [{$ref: '#/components/schemas/PredictionFields'}]
              type: object
              required: [id, model, prediction]
            ReferenceRow:
              description: a prediction without model (the path names it), with its label inline if known
              allOf: [{$ref: '#/components/schemas/PredictionFields'}]
              type: object
              required: [id, prediction]
              not: {required: [model]}
              properties:
                label: {anyOf: [{$ref: '#/components/schemas/Output'}, {type: 'null'}]}
            Label:
              type: object
              required: [id, model]
              properties:
                id: {$ref: '#/components/schemas/ID'}
                model: {$ref: '#/components/schemas/ModelName'}
                label: {anyOf: [{$ref: '#/components/schemas/Output'}, {type: 'null'}]}
                timestamp: {$ref: '#/components/schemas/Timestamp'}
                metrics: {$ref: '#/components/schemas/Metrics'}
              anyOf:
                - required: [label]
                  properties:
                    label: {$ref: '#/components/schemas/Output'}
                - required: [metrics]
                  properties:
                    metrics: {type: object, minProperties: 1}
        """

    /// What the read routes answer.
    private static let responseSchemas = """
            Alert:
              type: object
              properties:
                name: {type: string}
                model: {type: string}
                state: {type: string, enum: [pending, firing, resolved]}
                labels: {type: object, additionalProperties: {type: string}}
                annotations: {type: object, additionalProperties: {type: string}}
                value: {type: number}
                active_at: {type: string, format: date-time}
                fired_at: {type: [string, 'null'], format: date-time}
                resolved_at: {type: [string, 'null'], format: date-time}
                fingerprint: {type: string}
            MetricsDocument:
              type: object
              required: [model, window, from, to, counts, drift, quality, estimated, calibration, fairness, data_quality, metrics]
              properties:
                model: {type: string}
                version: {type: [string, 'null']}
                variant: {type: [string, 'null']}
                window: {type: string}
                from: {type: string, format: date-time}
                to: {type: string, format: date-time}
                task: {type: string, enum: [binary, multiclass, regression, generative]}
                counts:
                  type: object
                  properties:
                    predictions: {type: integer}
                    labeled: {type: integer}
                    label_coverage: {type: [number, 'null']}
                reference: {type: [object, 'null']}
                drift: {type: [object, 'null']}
                quality: {type: [object, 'null']}
                estimated: {type: [object, 'null']}
                calibration: {type: [object, 'null']}
                fairness: {type: object}
                data_quality: {type: object}
                metrics: {type: object}
                label_metrics: {type: object}
            Model:
              type: object
              properties:
                name: {type: string}
                task: {type: string, enum: [binary, multiclass, regression, generative]}
                task_declared: {type: boolean}
                positive_class: {type: [string, 'null']}
                features:
                  type: array
                  items:
                    type: object
                    properties:
                      name: {type: string}
                      type: {type: [string, 'null'], enum: [numeric, categorical, null]}
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
                counts: {type: object, additionalProperties: {type: [integer, 'null']}}
                label_coverage: {type: [number, 'null']}
                overflow: {type: object, additionalProperties: {type: integer}}
        """
}
