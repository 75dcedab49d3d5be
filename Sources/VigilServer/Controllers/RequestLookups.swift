import Hummingbird
import VigilCore

extension ModelRegistry {
    /// `404` naming the model unless it has a schema (has been seen or declared).
    func requireKnown(_ model: String) throws {
        guard schema(model) != nil else { throw APIError(.notFound, "no model named '\(APIError.excerpt(model))'") }
    }
}

extension Parameters {
    /// The query parameter `name`, or `nil` when it is absent or empty.
    func nonEmpty(_ name: String) -> String? {
        guard let value = self[Substring(name)], !value.isEmpty else { return nil }
        return String(value)
    }
}
