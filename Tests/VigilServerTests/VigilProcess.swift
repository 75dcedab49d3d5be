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

    /// SIGTERM and wait (SIGKILL after 120 s); returns the exit status.
    func terminate() async -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        return await process.exitStatus(within: 120)
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

/// Runs the binary to completion and returns its exit status and combined output. It waits without
/// holding a thread of the cooperative pool: on two cores a few blocked threads starve the in-process receivers of the
/// tests running beside it (seen as a test receiver that did not answer within 10 s).
func runVigilAsync(_ arguments: [String], environment: [String: String] = [:], within seconds: Int = 120) async throws
    -> (Int32, String)
{
    let directory = try TemporaryDirectory()
    let outputPath = directory.path("output")
    FileManager.default.createFile(atPath: outputPath, contents: nil)
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
    defer { try? output.close() }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: VigilProcess.binary)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, b in b }
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let status = await process.exitStatus(within: seconds)
    return (status, (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
}

extension Process {
    /// Waits for the exit and returns its status, polling rather than blocking: a thread of the
    /// cooperative pool held in `waitUntilExit` starves the in-process servers of other tests.
    /// After `seconds` the process is killed.
    func exitStatus(within seconds: Int) async -> Int32 {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if isRunning { kill(processIdentifier, SIGKILL) }
        waitUntilExit()
        return terminationStatus
    }
}
