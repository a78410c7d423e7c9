import BridgeConfig
import Foundation
import Logging
import Observability

/// Logging set-up for the CLI: one bootstrap per process.
enum CLILogging {
    /// Bootstraps swift-log to standard error at `level` in `format` (`text`, `json` or `auto`: text on a TTY)
    /// and returns the root logger.
    static func bootstrap(level: String, format: String = "auto") -> Logger {
        let parsed = Logger.Level(rawValue: level.lowercased()) ?? .warning
        let resolved = BridgeLogHandler.Format.resolve(format, isTerminal: isatty(STDERR_FILENO) == 1)
        LoggingSystem.bootstrap { label in
            BridgeLogHandler(label: label, format: resolved, level: parsed)
        }
        var logger = Logger(label: "persona-bridge")
        logger.logLevel = parsed
        return logger
    }

    /// A logger that drops everything, for work done before logging is set up.
    static var silent: Logger { Logger(label: "persona-bridge", factory: { _ in SwiftLogNoOpLogHandler() }) }

    /// Registers every secret of the configuration with the log scrubber, as a last line of defence.
    static func registerSecrets(of configuration: BridgeConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment) {
        let scrubber = SecretScrubber.shared
        if let key = configuration.model.apiKey?.reveal() { scrubber.register(key.trimmingCharacters(in: .whitespacesAndNewlines)) }
        if let key = environment[configuration.model.apiKeyEnv] { scrubber.register(key.trimmingCharacters(in: .whitespacesAndNewlines)) }
        for platform in configuration.platforms.values {
            for secret in platform.secrets.values { scrubber.register(secret.reveal()) }
        }
    }
}
