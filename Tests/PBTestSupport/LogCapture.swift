import Foundation
import Logging

/// Captures every log line a logger writes, rendered with level, label, message, metadata and error,
/// so tests can assert what reaches the logs (and that secrets never do).
public final class LogCapture: @unchecked Sendable {
    // Safe: `storage` is only touched under `lock`.
    private let lock = NSLock()
    private var storage: [String] = []

    /// Creates an empty capture.
    public init() {}

    /// Every line so far.
    public var lines: [String] { lock.withLock { storage } }

    /// A logger at `level` whose lines land here.
    public func logger(label: String, level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { CapturingLogHandler(capture: self, label: $0) }
        logger.logLevel = level
        return logger
    }

    fileprivate func append(_ line: String) { lock.withLock { storage.append(line) } }
}

struct CapturingLogHandler: LogHandler {
    let capture: LogCapture
    let label: String
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let rendered = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let error = event.error.map { " error=\($0)" } ?? ""
        capture.append("\(event.level) \(label) \(event.message) \(rendered)\(error)")
    }
}
