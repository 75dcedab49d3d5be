/// A parsed JSON value. Objects keep their members in document order, so user-chosen keys
/// (feature, class and segment names) come back exactly as sent.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The object's members, or `nil` when this is not an object.
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The string, or `nil` when this is not a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The number, or `nil` when this is not a number.
    public var numberValue: Double? {
        if case .number(let n) = self { return n }
        return nil
    }

    /// The JSON type name used in error messages ("string", "number", …).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// One member of a JSON object. (A struct rather than a tuple: arrays of tuples have their type
/// metadata instantiated at run time, which showed up in the ingest profile.)
public struct JSONMember: Sendable, Equatable {
    public var key: String
    public var value: JSONValue

    public init(key: String, value: JSONValue) {
        self.key = key
        self.value = value
    }
}

/// The members of a JSON object in document order. A key that occurs twice resolves to its
/// last occurrence, as in JavaScript and Python.
public struct JSONObject: Sendable, Equatable {
    /// Members in document order, duplicates included.
    public var members: [JSONMember]

    /// Creates an object from its members.
    public init(_ members: [JSONMember] = []) {
        self.members = members
    }

    /// The value of `key` (its last occurrence), or `nil` when absent.
    public subscript(key: String) -> JSONValue? {
        for member in members.reversed() where member.key == key { return member.value }
        return nil
    }

    /// Members with duplicate keys collapsed to their last occurrence, in first-seen order.
    public var uniqueMembers: [JSONMember] {
        // Ingest objects are small and rarely repeat a key: a pairwise check is cheaper than
        // hashing every key into a dictionary.
        if members.count <= 24 {
            var repeated = false
            search: for i in members.indices {
                for j in (i + 1)..<members.count where members[i].key == members[j].key {
                    repeated = true
                    break search
                }
            }
            if !repeated { return members }
        }
        var seen: [String: Int] = [:]
        var result: [JSONMember] = []
        for member in members {
            if let index = seen[member.key] {
                result[index].value = member.value
            } else {
                seen[member.key] = result.count
                result.append(member)
            }
        }
        return result
    }
}
