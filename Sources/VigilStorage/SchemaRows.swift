import Foundation
import GRDB
import VigilCore

/// How a model's learned schema is stored: its small core (counts, overflow, the regression
/// evidence) as JSON in `models.schema`, and each learned entry (feature, class, segment
/// group, version, variant, metric name) as its own row in `model_entries`. A commit rewrites
/// the core and only the entries it changed, instead of the whole schema (which reaches
/// megabytes with 64 × 1,000 segment groups).
package enum SchemaRows {
    enum Kind: Int {
        case feature = 1, predictionClass, segment, version, variant, predictionMetric, labelMetric
    }

    /// The part of the schema rewritten on every commit that touches the model.
    struct Core: Codable {
        var name: String
        var fractionalOutputs: Int
        var overflow: [String: Int]
        var counts: ModelSchema.Counts

        enum CodingKeys: String, CodingKey {
            case name, overflow, counts
            case fractionalOutputs = "fractional_outputs"
        }
    }

    struct FeatureRow: Codable {
        var order: Int
        var info: ModelSchema.FeatureInfo
    }

    package static func coreJSON(_ schema: ModelSchema) throws -> String {
        let core = Core(
            name: schema.name, fractionalOutputs: schema.fractionalOutputs, overflow: schema.overflow,
            counts: schema.counts)
        return String(decoding: try JSONEncoder().encode(core), as: UTF8.self)
    }

    /// One learned entry as stored: kind, name, detail (a segment's group) and value.
    package typealias Entry = (kind: Int, name: String, detail: String, value: String)

    /// The changed entries of `schema`, clearing its changes.
    package static func takeChangedEntries(_ schema: inout ModelSchema) throws -> [Entry] {
        let changes = schema.takeChanges()
        guard !changes.isEmpty else { return [] }
        var entries: [Entry] = []
        func put(_ kind: Kind, _ name: String, _ detail: String, _ value: String) {
            entries.append((kind.rawValue, name, detail, value))
        }
        if !changes.features.isEmpty {
            let order = Dictionary(schema.featureOrder.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            let encoder = JSONEncoder()
            for name in changes.features {
                guard let info = schema.features[name] else { continue }
                let row = FeatureRow(order: order[name] ?? Int.max, info: info)
                put(.feature, name, "", String(decoding: try encoder.encode(row), as: UTF8.self))
            }
        }
        for name in changes.classes { if let n = schema.classes[name] { put(.predictionClass, name, "", "\(n)") } }
        for entry in changes.segments {
            if let n = schema.segments[entry.attribute]?[entry.group] { put(.segment, entry.attribute, entry.group, "\(n)") }
        }
        for name in changes.versions { if let n = schema.versions[name] { put(.version, name, "", "\(n)") } }
        for name in changes.variants { if let n = schema.variants[name] { put(.variant, name, "", "\(n)") } }
        for name in changes.predictionMetrics {
            if let i = schema.predictionMetrics.firstIndex(of: name) { put(.predictionMetric, name, "", "\(i)") }
        }
        for name in changes.labelMetrics {
            if let i = schema.labelMetrics.firstIndex(of: name) { put(.labelMetric, name, "", "\(i)") }
        }
        return entries
    }

    /// Writes the core and the changed entries of `schema` (clearing its changes).
    static func write(_ schema: inout ModelSchema, id: Int64, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE models SET schema = ? WHERE id = ?").execute(
            arguments: [try coreJSON(schema), id])
        let entries = try takeChangedEntries(&schema)
        guard !entries.isEmpty else { return }
        let upsert = try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO model_entries (model_id, kind, name, detail, value) VALUES (?, ?, ?, ?, ?)")
        for e in entries { try upsert.execute(arguments: [id, e.kind, e.name, e.detail, e.value]) }
    }

    /// Rebuilds a schema from its core and entries; `nil` when the core does not decode.
    static func load(core json: String, entries: [Row]) -> ModelSchema? {
        load(
            core: json,
            entries: entries.map { ($0["kind"] as Int, $0["name"] as String, $0["detail"] as String, $0["value"] as String) })
    }

    /// Rebuilds a schema from its core and entries; `nil` when the core does not decode.
    package static func load(core json: String, entries: [Entry]) -> ModelSchema? {
        guard let core = try? JSONDecoder().decode(Core.self, from: Data(json.utf8)) else { return nil }
        var schema = ModelSchema(name: core.name, config: ModelConfig())
        schema.fractionalOutputs = core.fractionalOutputs
        schema.overflow = core.overflow
        schema.counts = core.counts
        var features: [(order: Int, name: String)] = []
        var predictionMetrics: [(Int, String)] = []
        var labelMetrics: [(Int, String)] = []
        let decoder = JSONDecoder()
        for row in entries {
            guard let kind = Kind(rawValue: row.kind) else { continue }
            let name = row.name
            let value = row.value
            switch kind {
            case .feature:
                guard let feature = try? decoder.decode(FeatureRow.self, from: Data(value.utf8)) else { return nil }
                schema.features[name] = feature.info
                features.append((feature.order, name))
            case .predictionClass: schema.classes[name] = Int(value) ?? 0
            case .segment: schema.segments[name, default: [:]][row.detail] = Int(value) ?? 0
            case .version: schema.versions[name] = Int(value) ?? 0
            case .variant: schema.variants[name] = Int(value) ?? 0
            case .predictionMetric: predictionMetrics.append((Int(value) ?? .max, name))
            case .labelMetric: labelMetrics.append((Int(value) ?? .max, name))
            }
        }
        schema.featureOrder = features.sorted { ($0.order, $0.name) < ($1.order, $1.name) }.map(\.name)
        schema.predictionMetrics = predictionMetrics.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.1)
        schema.labelMetrics = labelMetrics.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.1)
        _ = schema.takeChanges()
        return schema
    }

    /// Converts every model row written whole (before `v6-model-entries`) into core + entries.
    static func migrate(_ db: Database) throws {
        for row in try Row.fetchAll(db, sql: "SELECT id, schema FROM models") {
            let json: String = row["schema"]
            guard var schema = try? JSONDecoder().decode(ModelSchema.self, from: Data(json.utf8)) else {
                continue  // left as is: start-up quarantines it
            }
            schema.markAllChanged()
            try write(&schema, id: row["id"], db)
        }
    }
}
