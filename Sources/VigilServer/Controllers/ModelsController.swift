import Hummingbird
import VigilCore
import VigilEngine

/// `GET /v1/models`: every model with its declared or inferred schema, versions, variants,
/// counts, reference settings and the installed reference.
struct ModelsController: Sendable {
    let config: VigilConfig
    let registry: ModelRegistry
    let references: ReferenceManager

    struct FeatureBody: Encodable {
        var name: String
        var type: String?
        var declared: Bool
        var missing: Int
        var typeConflicts: Int

        enum CodingKeys: String, CodingKey {
            case name, type, declared, missing
            case typeConflicts = "type_conflicts"
        }
    }

    /// `source`/`first`: the configured policy; `installed`: the reference in use (null before one is).
    struct ReferenceBody: Encodable {
        var source = "first"
        var first: Int
        var installed: Installed?

        struct Installed: Encodable {
            var source: String
            var rows: Int
            var labeled: Int
            var createdAt: String

            enum CodingKeys: String, CodingKey {
                case source, rows, labeled
                case createdAt = "created_at"
            }
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(source, forKey: .source)
            try c.encode(first, forKey: .first)
            try c.encode(installed, forKey: .installed)  // explicit null before a reference is installed
        }

        enum CodingKeys: String, CodingKey { case source, first, installed }
    }

    struct ModelBody: Encodable {
        var name: String
        var task: String
        var taskDeclared: Bool
        var positiveClass: String?
        var features: [FeatureBody]
        var classes: [String: Int]
        var segments: [String: [String: Int]]
        var configuredSegments: [[String]]
        var versions: [String: Int]
        var variants: [String: Int]
        var predictionMetrics: [String]
        var labelMetrics: [String]
        var labelTTL: String
        var reference: ReferenceBody
        var counts: ModelSchema.Counts
        var labelCoverage: Double?
        var overflow: [String: Int]

        enum CodingKeys: String, CodingKey {
            case name, task, features, classes, segments, versions, variants, reference, counts, overflow
            case taskDeclared = "task_declared"
            case positiveClass = "positive_class"
            case configuredSegments = "configured_segments"
            case predictionMetrics = "prediction_metrics"
            case labelMetrics = "label_metrics"
            case labelTTL = "label_ttl"
            case labelCoverage = "label_coverage"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(task, forKey: .task)
            try c.encode(taskDeclared, forKey: .taskDeclared)
            try c.encode(positiveClass, forKey: .positiveClass)  // explicit null when unknown
            try c.encode(features, forKey: .features)
            try c.encode(classes, forKey: .classes)
            try c.encode(segments, forKey: .segments)
            try c.encode(configuredSegments, forKey: .configuredSegments)
            try c.encode(versions, forKey: .versions)
            try c.encode(variants, forKey: .variants)
            try c.encode(predictionMetrics, forKey: .predictionMetrics)
            try c.encode(labelMetrics, forKey: .labelMetrics)
            try c.encode(labelTTL, forKey: .labelTTL)
            try c.encode(reference, forKey: .reference)
            try c.encode(counts, forKey: .counts)
            try c.encode(labelCoverage, forKey: .labelCoverage)
            try c.encode(overflow, forKey: .overflow)
        }
    }

    struct ListBody: Encodable { var models: [ModelBody] }

    func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let schemas = registry.snapshot().values.sorted { $0.name < $1.name }
        return JSONResponse.make(ListBody(models: schemas.map(body)))
    }

    func body(_ schema: ModelSchema) -> ModelBody {
        let config = config.model(schema.name)
        let features = schema.featureOrder.compactMap { name in
            schema.features[name].map {
                FeatureBody(
                    name: name, type: $0.type?.rawValue, declared: $0.declared, missing: $0.missing,
                    typeConflicts: $0.typeConflicts)
            }
        }
        let predictions = schema.counts.predictions
        return ModelBody(
            name: schema.name, task: schema.task(declared: config.task).rawValue, taskDeclared: config.task != nil,
            positiveClass: schema.positiveClass(declared: config.positiveClass), features: features,
            classes: schema.classes, segments: schema.segments, configuredSegments: config.segments,
            versions: schema.versions, variants: schema.variants, predictionMetrics: schema.predictionMetrics,
            labelMetrics: schema.labelMetrics, labelTTL: config.labelTTL.text,
            reference: ReferenceBody(
                first: config.referenceFirst,
                installed: references.profile(schema.name).map {
                    .init(
                        source: $0.source.rawValue, rows: $0.rows, labeled: $0.labeled,
                        createdAt: Timestamp.format($0.createdAt))
                }), counts: schema.counts,
            labelCoverage: predictions > 0 ? Double(schema.counts.labeled) / Double(predictions) : nil,
            overflow: schema.overflow)
    }
}
