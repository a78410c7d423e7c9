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
    @OptionGroup var sharding: ShardOptions

    func run() async throws {
        let logger = CLILogging.bootstrap(level: options.logLevel)
        do {
            let configuration = try BridgeRuntime.loadConfiguration(path: options.config, logger: logger)
            let enabled = configuration.enabledPlatforms
            let missing = enabled.filter { PlatformRegistry.factory(named: $0) == nil }
            guard missing.isEmpty else {
                FileHandle.standardError.write(
                    Data(("persona-bridge: \(options.config) enables \(missing.joined(separator: ", ")), but this build "
                        + "has adapters only for: \(PlatformRegistry.names.joined(separator: ", ")). Disable those platforms "
                        + "(enabled = false) or use a build that includes them.\n").utf8))
                throw ExitCodeError.failure
            }
            guard !enabled.isEmpty else {
                FileHandle.standardError.write(
                    Data("persona-bridge: \(options.config) enables no platform; add e.g. [platforms.console] enabled = true.\n".utf8))
                throw ExitCodeError.failure
            }
            let shards = try sharding.selection(for: configuration, logger: logger)
            var runtime = try await BridgeRuntime.start(configuration, logger: logger)
            runtime.shards = shards
            var platforms: [any ChatPlatform] = []
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
            for name in enabled {
                guard let factory = PlatformRegistry.factory(named: name) else { continue }
                do {
                    let built = try await factory.make(configuration, runtime, logger)
                    platforms.append(built.platform)
                    services.append(.init(service: built.service, successTerminationBehavior: .ignore))
                } catch {
                    FileHandle.standardError.write(Data("persona-bridge: \(error)\n".utf8))
                    await runtime.shutdown()
                    throw ExitCodeError.failure
                }
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
