import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import VigilCore

extension Importer {
    /// Sends one batch until the server answers it: retries 408, 429, 5xx and connection
    /// failures with capped exponential backoff (honouring `Retry-After`), splits it on 413,
    /// and gives up on other answers or after `retryFor` without success.
    func send(_ lines: ArraySlice<String>, _ client: HTTPClient) async throws(ImportFailure) -> Answer {
        let path = options.kind == .predictions ? "/v1/predictions" : "/v1/labels"
        let url = options.url.hasSuffix("/") ? String(options.url.dropLast()) + path : options.url + path
        var delay = 0.5
        let firstTry = ContinuousClock.now
        var lastProblem: String?
        while true {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-ndjson")
            if let token = options.token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            request.body = .bytes(ByteBuffer(string: lines.joined(separator: "\n")))
            var wait: Double? = nil
            let problem: String
            do {
                let response = try await client.execute(request, timeout: .seconds(60))
                let body = String(buffer: try await response.body.collect(upTo: 16 << 20))
                switch response.status.code {
                case 200: return try Self.answer(body)
                case 413 where lines.count > 1:
                    let half = lines.startIndex + lines.count / 2
                    var first = try await send(lines[..<half], client)
                    let second = try await send(lines[half...], client)
                    first.accepted += second.accepted
                    first.duplicates += second.duplicates
                    first.unlisted += second.unlisted
                    first.errors += second.errors.map { ($0.index + lines.count / 2, $0.id, $0.reason, $0.message) }
                    return first
                case 401, 403: throw ImportFailure("\(url) refused the token (\(response.status.code)): \(body)")
                case 408, 429, 500...599:
                    wait = response.headers.first(name: "Retry-After").flatMap(Double.init)
                    problem = "\(response.status.code) \(body.prefix(200))"
                default: throw ImportFailure("\(url) answered \(response.status.code): \(body.prefix(500))")
                }
            } catch let failure as ImportFailure {
                throw failure
            } catch {
                problem = "\(error)"
            }
            guard ContinuousClock.now - firstTry < options.retryFor else {
                throw ImportFailure("gave up after \(options.retryFor) of failures (last: \(problem)); run the same command again to resume")
            }
            let pause = min(wait ?? delay * Double.random(in: 0.5...1), 30)
            if problem != lastProblem { note("vigil import: \(url): \(problem); retrying in \(String(format: "%.1f", pause)) s") }
            lastProblem = problem
            delay = min(delay * 2, 30)
            try? await Task.sleep(for: .milliseconds(Int(pause * 1000)))
        }
    }

    /// Parses an ingest answer: `accepted`, `duplicates`, `rejected`, `errors[]`.
    static func answer(_ body: String) throws(ImportFailure) -> Answer {
        guard let value = try? JSONParser.parse(Array(body.utf8)), let object = value.objectValue else {
            throw ImportFailure("the answer is not JSON: \(body.prefix(200))")
        }
        var answer = Answer()
        answer.accepted = Int(object["accepted"]?.numberValue ?? 0)
        answer.duplicates = Int(object["duplicates"]?.numberValue ?? 0)
        if case .array(let errors)? = object["errors"] {
            for error in errors {
                guard let e = error.objectValue, let index = e["index"]?.numberValue else { continue }
                answer.errors.append(
                    (Int(index), e["id"]?.stringValue, e["reason"]?.stringValue ?? "unknown", e["error"]?.stringValue ?? ""))
            }
        }
        answer.unlisted = max(Int(object["rejected"]?.numberValue ?? 0) - answer.errors.count, 0)
        return answer
    }
}
