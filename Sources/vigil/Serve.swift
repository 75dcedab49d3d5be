import ArgumentParser
import Foundation
import Hummingbird
import Logging
import VigilCore
import VigilServer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the service (no configuration needed: SQLite file vigil.db, 127.0.0.1:9750).")

    @Option(help: "YAML configuration file.") var config: String?
    @Option(help: "SQLite database file (overrides storage.sqlite).") var db: String?
    @Option(help: "Address to bind (overrides server.host).") var host: String?
    @Option(help: "Port to bind; 0 picks a free one (overrides server.port).") var port: Int?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String = "info"

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "vigil")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        var settings = VigilConfig()
        if let config {
            do {
                settings = try ConfigLoader.load(path: config)
            } catch let error as ConfigError {
                for issue in error.issues { print("\(config):\(issue)", to: &StandardError.stream) }
                throw ExitCode(2)
            }
        }
        if let db { settings.storage.sqlite = db }
        if let host { settings.server.host = host }
        if let port {
            guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
            settings.server.port = port
        }
        do {
            let app = try await buildApplication(config: settings, logger: logger)
            try await app.runService()
        } catch let error as StartupError {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
    }
}

/// Standard error as a `TextOutputStream`.
struct StandardError: TextOutputStream {
    nonisolated(unsafe) static var stream = StandardError()
    mutating func write(_ string: String) { FileHandle.standardError.write(Data(string.utf8)) }
}
