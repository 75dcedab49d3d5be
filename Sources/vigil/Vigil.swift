import ArgumentParser

@main
struct Vigil: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Production model-quality monitoring service.",
        subcommands: [Serve.self, CheckConfig.self, TestNotifier.self, DemoCommand.self, ImportCommand.self],
        defaultSubcommand: Serve.self)
}
