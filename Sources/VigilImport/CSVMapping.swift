import Foundation
import VigilCore

/// Where each CSV column goes in an event. A column named like an event field (`id`, `model`,
/// `prediction`, …) is that field unless `--column FIELD=COLUMN` names another; `features.X`,
/// `segments.X`, `metrics.X` and `scores.X` columns (or those listed with `--features` and so
/// on) go into those objects as `X`; for predictions, every column left over is a feature.
struct CSVMapping {
    enum Destination {
        case field(String)
        case object(String, key: String)
        case ignored
    }

    static let fields = ["id", "model", "timestamp", "version", "variant", "prediction", "confidence", "label"]
    static let objects = ["features", "segments", "metrics", "scores"]
    let destinations: [Destination]
    let model: String?

    init(header: [String], options: ImportOptions) throws(ImportFailure) {
        for (field, column) in options.columns {
            guard Self.fields.contains(field) else {
                throw ImportFailure("--column \(field)=\(column): the field must be one of \(Self.fields.joined(separator: ", "))")
            }
            guard header.contains(column) else { throw ImportFailure("--column \(field)=\(column): the file has no column \(column)") }
        }
        let listed: [(String, [String])] = [
            ("features", options.features), ("segments", options.segments), ("metrics", options.metrics), ("scores", options.scores),
        ]
        for (object, columns) in listed {
            for column in columns where !header.contains(column) {
                throw ImportFailure("--\(object) \(column): the file has no column \(column)")
            }
        }
        let renamed = Dictionary(options.columns.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
        let remapped = Set(options.columns.keys)
        destinations = header.map { column in
            if let field = renamed[column] { return .field(field) }
            if let (object, _) = listed.first(where: { $0.1.contains(column) }) { return .object(object, key: column) }
            if Self.fields.contains(column) && !remapped.contains(column) { return .field(column) }
            if let dot = column.firstIndex(of: "."), Self.objects.contains(String(column[..<dot])) {
                return .object(String(column[..<dot]), key: String(column[column.index(after: dot)...]))
            }
            return options.kind == .predictions ? .object("features", key: column) : .ignored
        }
        model = options.model
        let hasModel = destinations.contains { if case .field("model") = $0 { true } else { false } }
        guard hasModel || model != nil else { throw ImportFailure("the file has no model column: pass --model NAME") }
        let hasID = destinations.contains { if case .field("id") = $0 { true } else { false } }
        guard hasID else { throw ImportFailure("the file has no id column: name it with --column id=COLUMN (ids make a resumed import safe)") }
    }

    /// The event of one row (as many fields as the header).
    func event(_ row: [String]) -> JSONValue {
        var top: [JSONMember] = []
        var nested: [String: [JSONMember]] = [:]
        if let model { top.append(JSONMember(key: "model", value: .string(model))) }
        for (destination, text) in zip(destinations, row) {
            switch destination {
            case .field(let field):
                guard !text.isEmpty else { continue }
                if field == "model" { top.removeAll { $0.key == "model" } }
                let value: JSONValue =
                    switch field {
                    case "id", "model", "version", "variant": .string(text)
                    default: Self.number(text).map(JSONValue.number) ?? .string(text)
                    }
                top.append(JSONMember(key: field, value: value))
            case .object(let object, let key):
                if object == "features" {
                    nested[object, default: []].append(JSONMember(key: key, value: Self.feature(text)))
                } else if !text.isEmpty {
                    let value: JSONValue = object == "segments" ? .string(text) : Self.number(text).map(JSONValue.number) ?? .string(text)
                    nested[object, default: []].append(JSONMember(key: key, value: value))
                }
            case .ignored: continue
            }
        }
        for object in Self.objects { if let members = nested[object] { top.append(JSONMember(key: object, value: .object(JSONObject(members)))) } }
        return .object(JSONObject(top))
    }

    static func number(_ text: String) -> Double? {
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite else { return nil }
        return value
    }

    /// A feature cell: empty is missing, `true`/`false` are booleans, numbers are numbers.
    static func feature(_ text: String) -> JSONValue {
        if text.isEmpty { return .null }
        switch text.lowercased() {
        case "true": return .bool(true)
        case "false": return .bool(false)
        default: return number(text).map(JSONValue.number) ?? .string(text)
        }
    }
}
