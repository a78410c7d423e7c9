import ArgumentParser
import BridgeConfig
import BridgeCore
import Foundation
import Logging
import Observability
import PlatformConsole
import ServiceLifecycle
import Storage
import UnixSignals

/// `persona-bridge run`: connects every enabled platform and serves until SIGTERM or SIGINT.
///
/// The first signal shuts down gracefully: the router stops taking triggers and lets replies finish within
/// `[operations] shutdown_grace_seconds` (cutting the rest off with a notice), then the platforms disconnect,
/// the metrics server stops and the store is flushed and closed. A second signal exits at once (status 130).
///
/// Exit statuses: 0 after a clean shutdown; 1 for a bad config or command line; 78 (EX_CONFIG) when a platform
/// stopped for good on its configuration (a rejected token, disallowed intents, a failed required SASL login);
/// 70 (EX_SOFTWARE) when a service failed otherwise.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the bridge on every platform the config enables.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var sharding: ShardOptions

    func run() async throws {
        // Before the runtime's threads exist: each would otherwise keep an allocator arena of its own.
        AllocatorTrimService.limitArenas()
        // Diagnostics go to stderr as a report; logging is set up once the config says how.
        let early = CLILogging.silent
        do {
            let configuration: BridgeConfiguration
            do {
                configuration = try BridgeRuntime.loadConfiguration(path: options.config, logger: early)
            } catch {
                _ = CLILogging.bootstrap(level: options.logLevel ?? "warning")
                throw error
            }
            CLILogging.registerSecrets(of: configuration)
            let logger = CLILogging.bootstrap(level: options.logLevel ?? configuration.operations.logLevel,
                                              format: configuration.operations.logFormat)
            let metricsRegistry = MetricsRegistry()
            metricsRegistry.bootstrapMetricsSystem()
            try await serve(configuration, metrics: metricsRegistry, logger: logger)
        } catch ExitCodeError.failure {
            throw ExitCode(1)
        } catch ExitCodeError.configuration {
            throw ExitCode(78)
        } catch ExitCodeError.internalFailure {
            throw ExitCode(70)
        }
    }

    private func serve(_ configuration: BridgeConfiguration, metrics: MetricsRegistry, logger: Logger) async throws {
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
        var metricsEndpoint: (host: String, port: Int)?
        if let address = configuration.operations.metricsAddress {
            guard let parsed = OperationsSettings.parseAddress(address) else {
                FileHandle.standardError.write(Data(
                    "persona-bridge: [operations] metrics_address '\(address)' is not HOST:PORT (e.g. 127.0.0.1:9464).\n".utf8))
                throw ExitCodeError.failure
            }
            metricsEndpoint = parsed
        }
        var metricsToken: String?
        if let file = configuration.operations.metricsTokenFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8),
                  case let token = text.trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty else {
                FileHandle.standardError.write(Data(
                    "persona-bridge: [operations] metrics_token_file '\(file)' is missing, unreadable or empty.\n".utf8))
                throw ExitCodeError.failure
            }
            SecretScrubber.shared.register(token)
            metricsToken = token
        }
        do {
            let stateKey = try StateKeyCheck.evaluate(configuration, environment: ProcessInfo.processInfo.environment)
            if let warning = stateKey.warning { logger.warning("\(warning)") }
            StateSecrets.configure(stateKey.sealer)
        } catch {
            FileHandle.standardError.write(Data("persona-bridge: \(error)\n".utf8))
            throw ExitCodeError.failure
        }
        let shards = try sharding.selection(for: configuration, logger: logger)
        var runtime = try await BridgeRuntime.start(configuration, logger: logger)
        runtime.shards = shards
        var platforms: [any ChatPlatform] = []
        var platformServices: [ServiceGroupConfiguration.ServiceConfiguration] = []
        for name in enabled {
            guard let factory = PlatformRegistry.factory(named: name) else { continue }
            do {
                let built = try await factory.make(configuration, runtime, logger)
                platforms.append(built.platform)
                platformServices.append(.init(service: built.service, successTerminationBehavior: .ignore))
            } catch {
                FileHandle.standardError.write(Data("persona-bridge: \(error)\n".utf8))
                await runtime.shutdown()
                throw ExitCodeError.failure
            }
        }
        let router = runtime.router(platforms: platforms, metrics: metrics.bridgeMetrics)
        var services = RuntimeService.services(runtime)
        // After a flood glibc would keep the freed memory in its arenas; returned every few seconds instead.
        services.append(.init(service: AllocatorTrimService(), successTerminationBehavior: .ignore))
        if let metricsEndpoint {
            let server = OperationsServer(
                host: metricsEndpoint.host, port: metricsEndpoint.port, metrics: metrics, logger: logger,
                bearerToken: metricsToken,
                readiness: OperationsServer.readiness(platforms: platforms, router: router, store: runtime.storeHealth))
            do {
                let port = try await server.start()
                logger.notice("operations endpoint ready", metadata: ["address": "\(metricsEndpoint.host):\(port)"])
            } catch {
                FileHandle.standardError.write(Data("persona-bridge: [operations] metrics_address: \(error)\n".utf8))
                await runtime.shutdown()
                throw ExitCodeError.failure
            }
            services.append(.init(service: server))
        }
        // Graceful shutdown runs in reverse: the router drains first while platforms can still edit,
        // then the platforms disconnect, then the metrics endpoint stops, then the store is flushed and closed.
        services += platformServices
        services.append(.init(service: router, successTerminationBehavior: .gracefullyShutdownGroup))
        var groupConfiguration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // A backstop: the router cuts replies off at the grace period, so this only fires if something hangs.
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(configuration.operations.shutdownGraceSeconds + 30)
        let group = ServiceGroup(configuration: groupConfiguration)
        let failure = await withTaskGroup(of: ExitCodeError?.self) { tasks in
            tasks.addTask {
                do {
                    try await group.run()
                    return nil
                } catch let fatal as any PlatformConfigurationError where fatal.stopsForGood {
                    FileHandle.standardError.write(Data("persona-bridge: \(fatal)\n".utf8))
                    logger.critical("bridge stopped: a platform refused the configuration", metadata: ["error": "\(fatal)"])
                    return .configuration
                } catch {
                    logger.critical("bridge stopped on an internal error", metadata: ["error": "\(error)"])
                    return .internalFailure
                }
            }
            tasks.addTask {
                await Self.exitOnSecondSignal(logger: logger)
                return nil
            }
            let first = await tasks.next() ?? nil
            tasks.cancelAll()
            return first
        }
        // Already done by RuntimeService unless the group ended abnormally; closing twice is harmless.
        await runtime.shutdown()
        if let failure { throw failure }
        logger.info("bridge stopped cleanly")
    }

    /// The service group handles the first SIGTERM/SIGINT; a second one exits at once.
    private static func exitOnSecondSignal(logger: Logger) async {
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        var seen = 0
        for await signal in signals {
            seen += 1
            if seen >= 2 {
                logger.critical("second signal: exiting without waiting for replies", metadata: ["signal": "\(signal)"])
                Foundation.exit(130)
            }
        }
    }
}
