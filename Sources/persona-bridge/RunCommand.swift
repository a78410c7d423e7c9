import ArgumentParser
import BridgeConfig
import BridgeCore
import Foundation
import Logging
import PlatformConsole
import ServiceLifecycle

/// `persona-bridge run`: connects every enabled platform and serves until SIGTERM or SIGINT.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the bridge on every platform the config enables.")

    @OptionGroup var options: ConfigOptions

    /// Platforms this build can connect to.
    static let available = ["console"]

    func run() async throws {
        let logger = CLILogging.bootstrap(level: options.logLevel)
        do {
            let configuration = try BridgeRuntime.loadConfiguration(path: options.config, logger: logger)
            let enabled = configuration.enabledPlatforms
            let missing = enabled.filter { !Self.available.contains($0) }
            guard missing.isEmpty else {
                FileHandle.standardError.write(
                    Data(("persona-bridge: \(options.config) enables \(missing.joined(separator: ", ")), but this build "
                        + "has adapters only for: \(Self.available.joined(separator: ", ")). Disable those platforms "
                        + "(enabled = false) or use a build that includes them.\n").utf8))
                throw ExitCodeError.failure
            }
            guard !enabled.isEmpty else {
                FileHandle.standardError.write(
                    Data("persona-bridge: \(options.config) enables no platform; add e.g. [platforms.console] enabled = true.\n".utf8))
                throw ExitCodeError.failure
            }
            let runtime = try await BridgeRuntime.start(configuration, logger: logger)
            var platforms: [any ChatPlatform] = []
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
            if enabled.contains("console") {
                let console = ConsolePlatform(configuration, speaker: nil, logger: logger)
                platforms.append(console)
                services.append(.init(service: console, successTerminationBehavior: .ignore))
            }
            let router = runtime.router(platforms: platforms)
            let group = ServiceGroup(
                configuration: .init(
                    services: [.init(service: router, successTerminationBehavior: .gracefullyShutdownGroup)] + services,
                    gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            do {
                try await group.run()
            } catch {
                logger.error("bridge stopped", metadata: ["error": "\(error)"])
            }
            await runtime.shutdown()
        } catch ExitCodeError.failure {
            throw ExitCode(1)
        }
    }
}
