import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import VigilCore
import VigilStorage

/// The outermost middleware: every error leaves as `{"error": "<reason>"}` with its status —
/// Hummingbird's own errors (404, 405, 413), framing errors (400, 413), storage faults (503 with
/// `Retry-After`) and unexpected ones (500, logged, with no internal text in the body) included.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxBodyBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return Self.response(error.status, error.message, headers: error.headers)
        } catch let error as HTTPError {
            let message: String
            switch error.status {
            case .notFound: message = "no route for \(request.method) \(APIError.excerpt(request.uri.path))"
            case .contentTooLarge: message = "request body exceeds max_body_bytes (\(maxBodyBytes) bytes)"
            case .methodNotAllowed:
                message = "method \(request.method) not allowed on \(APIError.excerpt(request.uri.path))"
            default: message = error.status.reasonPhrase
            }
            return Self.response(error.status, message, headers: error.headers)
        } catch let error as NIOTooManyBytesError {
            _ = error
            return Self.response(.contentTooLarge, "request body exceeds max_body_bytes (\(maxBodyBytes) bytes)")
        } catch is HTTPParserError {
            // A broken chunked encoding or framing: the connection cannot carry another request.
            return Self.response(.badRequest, "malformed HTTP request", headers: [.connection: "close"])
        } catch let error as ModelLimitReached {
            return Self.response(
                .conflict, "Vigil already tracks \(error.limit) models (limits.max_models); declare the model or raise the limit")
        } catch let error as StorageUnavailable {
            return Self.response(
                .serviceUnavailable, "storage unavailable: \(error.reason.rawValue)",
                headers: [.retryAfter: "\(error.retryAfterSeconds)"])
        } catch {
            // The detail goes to the log, never to the client (it may hold SQL or internals).
            context.logger.error(
                "unhandled error", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            return Self.response(.internalServerError, "internal error")
        }
    }

    static func response(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let body = (try? encoder.encode(["error": message])) ?? Data("{\"error\":\"error\"}".utf8)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
