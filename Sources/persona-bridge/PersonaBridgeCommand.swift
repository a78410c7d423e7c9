import ArgumentParser

/// The `persona-bridge` command line.
@main
struct PersonaBridgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "persona-bridge",
        abstract: "Resident AI characters for Discord, IRC and Matrix, powered by MiniMax M2-her.")
}
