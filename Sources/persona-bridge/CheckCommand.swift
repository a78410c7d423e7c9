import ArgumentParser
import BridgeConfig
import Foundation
import HTTPTransport
import Logging
import ModelClient

/// `persona-bridge check`: validates a config and its personas, optionally asking the model once.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Report every problem in a config and its personas, with file, line and a fix hint.")

    @OptionGroup var options: ConfigOptions

    @Flag(help: ArgumentHelp(
        "Also try every enabled platform and the model: tokens, intents, channels, permissions, then one tiny streamed model request.",
        discussion: "Read-only: no chat message is sent. Each problem is printed with its fix."))
    var online = false

    func run() async throws {
        let logger = CLILogging.bootstrap(level: options.logLevel ?? "warning")
        let result = ConfigLoader(logger: logger).load(configPath: options.config)
        let base = FileManager.default.currentDirectoryPath
        if !result.diagnostics.isEmpty {
            print(checkReport(result.diagnostics, relativeTo: base))
        }
        guard let configuration = result.configuration, !result.hasErrors else {
            let errors = result.diagnostics.filter { $0.severity == .error }.count
            print("\(options.config): \(errors) error\(errors == 1 ? "" : "s"); nothing was started.")
            throw ExitCode(1)
        }
        var platformProblems = 0
        for name in configuration.enabledPlatforms {
            guard let factory = PlatformRegistry.factory(named: name) else {
                print("\(options.config): error: [platforms.\(name)] is enabled, but this build has no \(name) adapter "
                    + "(it has: \(PlatformRegistry.names.joined(separator: ", "))).")
                platformProblems += 1
                continue
            }
            do {
                try factory.validate(configuration)
            } catch {
                print("\(options.config): error: \(error)")
                platformProblems += 1
            }
        }
        do {
            let stateKey = try StateKeyCheck.evaluate(configuration, environment: ProcessInfo.processInfo.environment)
            if let warning = stateKey.warning { print("\(options.config): \(warning)") }
        } catch {
            print("\(options.config): error: \(error)")
            platformProblems += 1
        }
        guard platformProblems == 0 else {
            print("\(options.config): \(platformProblems) error\(platformProblems == 1 ? "" : "s"); nothing was started.")
            throw ExitCode(1)
        }
        let personas = configuration.personas.count
        print(
            "\(options.config): OK — \(personas) persona\(personas == 1 ? "" : "s"), "
                + "\(configuration.channels.count) channel binding\(configuration.channels.count == 1 ? "" : "s"), "
                + (configuration.scenes.isEmpty ? "" : "\(configuration.scenes.count) linked scene\(configuration.scenes.count == 1 ? "" : "s"), ")
                + "platforms: \(configuration.enabledPlatforms.joined(separator: ", ")).")
        MatrixAppserviceSettings.explanation(configuration).forEach { print($0) }
        if online {
            let findings = await PlatformOnlineCheck.run(configuration, configPath: options.config, logger: logger)
            findings.forEach { print($0.line) }
            var failed = findings.contains { $0.level == .error }
            do { try await OnlineCheck.run(settings: configuration.model, logger: logger) } catch { failed = true }
            if failed {
                print("\(options.config): the online check found problems (each line above names its fix); nothing was started.")
                throw ExitCode(1)
            }
        }
    }
}

/// `check --online`: one tiny streamed request, printed as it arrives.
enum OnlineCheck {
    static func run(settings: ModelSettings, logger: Logger) async throws {
        let configuration: ModelClientConfiguration
        do {
            configuration = try settings.clientConfiguration()
            try configuration.validate()
        } catch {
            print("online check: \(error.message)")
            throw ExitCode(1)
        }
        let http = HTTPClient(logger: logger)
        defer { http.shutdown() }
        let client = ModelSession(configuration: configuration, httpClient: http, logger: logger)
        print("online check: \(configuration.provider) \(configuration.model) at \(configuration.endpointURL)")
        let start = ContinuousClock.now
        do {
            for try await event in client.stream(ModelSession.connectionCheckRequest) {
                switch event {
                case .delta(let text): print(text, terminator: "")
                case .finish(let reason): print("\n[finish: \(reason)]")
                case .usage(let usage):
                    print(
                        "[usage: \(usage.promptTokens) prompt, \(usage.completionTokens) completion"
                            + (usage.cachedTokens.map { ", \($0) cached" } ?? "") + " tokens]")
                }
            }
        } catch let error as ModelError {
            print("\nonline check failed: \(error.message)")
            throw ExitCode(1)
        }
        print("online check: OK in \(start.duration(to: .now))")
    }
}
