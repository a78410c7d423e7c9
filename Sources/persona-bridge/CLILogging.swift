import Foundation
import Logging

/// Logging set-up for the CLI: one bootstrap per process.
enum CLILogging {
    /// Bootstraps swift-log to standard error at `level` and returns the root logger.
    static func bootstrap(level: String) -> Logger {
        let parsed = Logger.Level(rawValue: level.lowercased()) ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = parsed
            return handler
        }
        var logger = Logger(label: "persona-bridge")
        logger.logLevel = parsed
        return logger
    }
}
