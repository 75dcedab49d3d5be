import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import VigilCore

/// The real `vigil` binary run as a child process on loopback, stopped by PID.
/// `@unchecked Sendable`: `port` is written once before the value is shared, and `Process` is thread-safe.
final class VigilProcess: @unchecked Sendable {
    let process = Process()
    let logPath: String
    private(set) var port = 0

    /// The built binary: `$VIGIL_BINARY`, else `vigil` beside the test bundle (SwiftPM's build directory).
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["VIGIL_BINARY"] { return path }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [
            bundle.appendingPathComponent("vigil").path,
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
                "../../.build/debug/vigil"
            ).path,
        ]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return bundle.appendingPathComponent("vigil").path
    }

    /// Starts `vigil serve` on a free port and waits until it listens.
    init(arguments: [String], logPath: String, environment: [String: String] = [:]) throws {
        self.logPath = logPath
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try log.seekToEnd()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, b in b }
        try process.run()
    }

    /// Starts a server on `db` and waits until it listens.
    static func serve(db: String, logPath: String, extra: [String] = [], environment: [String: String] = [:])
        async throws -> VigilProcess
    {
        let vigil = try VigilProcess(
            arguments: ["serve", "--db", db, "--port", "0"] + extra, logPath: logPath, environment: environment)
        try await vigil.waitUntilListening()
        return vigil
    }

    func waitUntilListening() async throws {
        // Generous: at the start of a test run dozens of servers start at once on two cores.
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if let range = text.range(of: "vigil listening on 127.0.0.1:") {
                let digits = text[range.upperBound...].prefix { $0.isNumber }
                if let port = Int(digits), port > 0 {
                    self.port = port
                    return
                }
            }
            guard process.isRunning else { throw ProcessFailure("vigil exited early:\n\(text)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ProcessFailure("vigil did not start listening within 90 s")
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM and wait; returns the exit status.
    func terminate() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

struct ProcessFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs the binary to completion; returns exit status and combined output.
func runVigil(_ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String) {
    try runProcess(
        VigilProcess.binary, arguments,
        environment: ProcessInfo.processInfo.environment.merging(environment) { _, b in b })
}
