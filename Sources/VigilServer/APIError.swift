import HTTPTypes
import Hummingbird

/// The one error type of the API: rendered as `{"error": "<reason>"}` with its status.
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var message: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    /// User input as an error message quotes it: at most 64 characters, so a hostile path or
    /// parameter is never echoed back whole.
    public static func excerpt(_ input: some StringProtocol) -> String {
        input.unicodeScalars.count <= 64
            ? String(input) : String(String.UnicodeScalarView(input.unicodeScalars.prefix(64))) + "…"
    }
}
