import ArgumentParser
import Foundation
import VigilCore
import VigilServer

struct TestNotifier: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-notifier", abstract: "Send a test alert to a configured notifier and report the answer.")

    @Option(name: .long, help: "The YAML configuration file.") var config: String
    @Argument(help: "The notifier's name under `notifiers:`.") var name: String

    func run() async throws {
        let loaded: VigilConfig
        do {
            loaded = try ConfigLoader.load(path: config)
        } catch let error as ConfigError {
            for issue in error.issues { print("\(config):\(issue)", to: &StandardError.stream) }
            throw ExitCode(1)
        }
        do {
            let result = try await NotifierTest.send(
                name: name, config: loaded, environment: ProcessInfo.processInfo.environment,
                at: SystemClock().now)
            print("\(name): \(result)")
        } catch {
            print("\(name): \(error)", to: &StandardError.stream)
            throw ExitCode(1)
        }
    }
}
