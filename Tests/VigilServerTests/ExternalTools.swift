import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Daemons from Debian packages (Prometheus, Alertmanager) run by tests on loopback and stopped
/// by PID; CI installs them, and locally a test that needs one reports its absence.
enum ExternalTool {
    static func path(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Run when installed, and always in CI (where its absence is a failure).
    static func shouldRun(_ name: String) -> Bool {
        path(name) != nil || ProcessInfo.processInfo.environment["CI"] != nil
    }

    /// A free loopback port (bound, read and released; the daemon takes it right after).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw ProcessFailure("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A daemon child process, killed by PID when the value goes away.
final class Daemon: @unchecked Sendable {
    let process = Process()
    let logPath: String

    init(_ tool: String, _ arguments: [String], logPath: String) throws {
        guard let path = ExternalTool.path(tool) else {
            throw ProcessFailure("\(tool) is not installed (apt-get install prometheus prometheus-alertmanager)")
        }
        self.logPath = logPath
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Plain HTTP calls to loopback daemons.
enum HTTP {
    static func request(
        _ method: HTTPMethod, _ url: String, body: String? = nil, contentType: String = "application/json"
    ) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return (Int(response.status.code), String(buffer: bytes))
    }

    static func get(_ url: String) async throws -> (status: Int, body: String) { try await request(.GET, url) }

    static func post(_ url: String, _ body: String, contentType: String = "application/json") async throws -> (
        status: Int, body: String
    ) {
        try await request(.POST, url, body: body, contentType: contentType)
    }

    /// Polls `condition` every 200 ms until it holds or `timeout` passes.
    static func eventually(
        _ timeout: Duration, _ what: String, _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw ProcessFailure("timed out after \(timeout) waiting for \(what)")
    }
}
