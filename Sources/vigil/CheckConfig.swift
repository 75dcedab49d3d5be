import ArgumentParser
import Foundation
import VigilCore
import VigilServer

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file; prints FILE:LINE:COLUMN: problem for each issue and exits non-zero.")

    @Argument(help: "The YAML configuration file.") var file: String

    func run() throws {
        let config: VigilConfig
        do {
            config = try ConfigLoader.load(path: file)
        } catch let error as ConfigError {
            for issue in error.issues { print("\(file):\(issue)", to: &StandardError.stream) }
            throw ExitCode(1)
        }
        let environment = ProcessInfo.processInfo.environment
        let unset =
            config.auth.tokens.map(\.env).filter { (environment[$0] ?? "").isEmpty }
            + config.notifiers.values.compactMap(\.secretEnv).filter { (environment[$0] ?? "").isEmpty }
        for name in unset {
            print(
                "\(file): note: environment variable \(name) is not set here; `vigil serve` needs it",
                to: &StandardError.stream)
        }
        print(
            "\(file): OK (\(config.models.count) models, \(config.alerts.count) alerts, \(config.notifiers.count) notifiers, windows \(config.windows.map(\.text).joined(separator: ", ")))"
        )
    }
}
