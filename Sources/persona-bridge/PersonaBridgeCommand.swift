import ArgumentParser

/// The `persona-bridge` command line.
@main
struct PersonaBridgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "persona-bridge",
        abstract: "Resident AI characters for Discord, IRC and Matrix, powered by MiniMax M2-her.",
        version: PersonaBridgeVersion.string,
        subcommands: [RunCommand.self, ChatCommand.self, CheckCommand.self, InitCommand.self, PersonaCommand.self, LoreCommand.self,
                      DiscordCommand.self, MatrixCommand.self, VersionCommand.self])
}

/// The released version.
enum PersonaBridgeVersion {
    static let string = "0.1.0"
}

/// Options every command that reads a config shares.
struct ConfigOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "The bridge config file (TOML), e.g. Bots/demo.toml.")
    var config: String

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (run: default from [operations] log_level; others: warning).")
    var logLevel: String?
}
