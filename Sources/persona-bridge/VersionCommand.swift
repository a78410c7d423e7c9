import ArgumentParser
import HTTPTransport
import SocketTransport

/// `persona-bridge version`.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")

    func run() {
        print("persona-bridge \(PersonaBridgeVersion.string)")
    }
}
