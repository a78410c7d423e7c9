import ArgumentParser
import BridgeConfig
import BridgeCore
import Foundation
import Logging
import Observability
import PlatformConsole
import ServiceLifecycle

/// `persona-bridge chat`: a terminal chat with the personas of a config, or with one persona file.
struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat in the terminal. Each line is a message; /as NAME switches speaker; /quit ends.")

    @Option(name: .shortAndLong, help: "A bridge config (its console channel binding is used), e.g. Bots/demo.toml.")
    var config: String?

    @Option(name: .shortAndLong, help: "A single persona file to chat with instead of a config.")
    var persona: String?

    @Option(name: .customLong("as"), help: "Who you speak as at first (default: the console section's speaker, else $USER).")
    var speaker: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "warning"

    func validate() throws {
        guard (config == nil) != (persona == nil) else {
            throw ValidationError("give exactly one of --config FILE or --persona FILE")
        }
    }

    func run() async throws {
        // Before the runtime's threads exist: each would otherwise keep an allocator arena of its own.
        AllocatorTrimService.limitArenas()
        let logger = CLILogging.bootstrap(level: logLevel)
        do {
            let configuration = try loadConfiguration(logger: logger)
            let console = ConsolePlatform(configuration, speaker: speaker, logger: logger)
            let runtime = try await BridgeRuntime.start(configuration, logger: logger)
            let router = runtime.router(platforms: [console])
            let group = ServiceGroup(
                configuration: .init(
                    services: RuntimeService.services(runtime) + [
                        // When input ends the console returns; the router drains what was typed, then ends the group.
                        .init(service: router, successTerminationBehavior: .gracefullyShutdownGroup),
                        .init(service: console, successTerminationBehavior: .ignore),
                        .init(service: AllocatorTrimService(), successTerminationBehavior: .ignore),
                    ],
                    gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            do {
                try await group.run()
            } catch {
                logger.error("chat stopped", metadata: ["error": "\(error)"])
            }
            console.finishOutput()
            await runtime.shutdown()
        } catch ExitCodeError.failure {
            throw ExitCode(1)
        }
    }

    private func loadConfiguration(logger: Logger) throws -> BridgeConfiguration {
        if let config { return try BridgeRuntime.loadConfiguration(path: config, logger: logger) }
        let path = persona ?? ""
        let loaded = ConfigLoader(logger: logger).loadPersona(path: path)
        if !loaded.diagnostics.isEmpty {
            FileHandle.standardError.write(Data((checkReport(loaded.diagnostics) + "\n").utf8))
        }
        guard let persona = loaded.persona, !loaded.hasErrors else { throw ExitCodeError.failure }
        var model = ModelSettings()
        if let key = ProcessInfo.processInfo.environment[model.apiKeyEnv] {
            model.apiKey = ConfigSecret(key, source: "environment variable \(model.apiKeyEnv)")
        }
        let directory = (path as NSString).deletingLastPathComponent
        return BridgeConfiguration(
            filePath: path, model: model,
            storage: StorageSettings(path: (directory as NSString).appendingPathComponent("state/chat.sqlite")),
            channels: [ChannelBinding(platform: "console", channel: "console", personas: [persona.name])],
            personas: [persona.name: persona])
    }
}
