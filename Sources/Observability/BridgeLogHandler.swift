import BridgeCore
import Foundation
import Logging
import Synchronization

/// Writes log lines to standard error as human text or JSON lines, scrubbing registered secrets first.
///
/// Secrets should never be logged at all; the scrubbing is a last line of defence for a value that slips
/// into an error description (a URL with a token, a header dump).
public struct BridgeLogHandler: LogHandler {
    /// Output format.
    public enum Format: String, Sendable, Hashable {
        /// `2026-01-01T00:00:00Z info persona-bridge: message key=value`.
        case text
        /// One JSON object per line.
        case json

        /// `text` on a terminal, `json` otherwise, unless `configured` says `text` or `json`.
        public static func resolve(_ configured: String, isTerminal: Bool) -> Format {
            switch configured.lowercased() {
            case "text": .text
            case "json": .json
            default: isTerminal ? .text : .json
            }
        }
    }

    /// Handler-level metadata.
    public var metadata: Logger.Metadata = [:]
    /// Minimum level written.
    public var logLevel: Logger.Level
    private let label: String
    private let format: Format
    private let sink: LogSink

    /// Creates a handler for `label` writing to `sink` (standard error by default).
    public init(label: String, format: Format, level: Logger.Level, sink: LogSink = .standardError) {
        self.label = label
        self.format = format
        self.logLevel = level
        self.sink = sink
    }

    /// Metadata by key.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Formats and writes one event.
    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let timestamp = Self.timestamp()
        let scrubber = SecretScrubber.shared
        // Scrub every value before serialising: JSON escapes `/` as `\/`, which URL patterns would no longer match.
        let message = scrubber.scrub("\(event.message)")
        let line: String
        switch format {
        case .text:
            let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\(scrubber.scrub("\($0.value)"))" }
                .joined(separator: " ")
            line = "\(timestamp) \(event.level) \(label): \(message)" + (fields.isEmpty ? "" : " " + fields) + "\n"
        case .json:
            var object: [String: LogJSON] = ["time": .string(timestamp), "level": .string("\(event.level)"),
                                             "label": .string(label), "message": .string(message)]
            for (key, value) in merged where object[key] == nil { object[key] = Self.json(value, scrubber) }
            var text = ""
            LogJSON.object(object).write(to: &text)
            line = text + "\n"
        }
        sink.write(SecretScrubber.shared.scrub(line))
    }

    private static func json(_ value: Logger.MetadataValue, _ scrubber: SecretScrubber) -> LogJSON {
        switch value {
        case .string(let s): .string(scrubber.scrub(s))
        case .stringConvertible(let c): .string(scrubber.scrub(c.description))
        case .array(let a): .array(a.map { json($0, scrubber) })
        case .dictionary(let d): .object(d.mapValues { json($0, scrubber) })
        }
    }

    private static func timestamp() -> String {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return ISO8601Timestamp.string(epochSeconds: Int(time.tv_sec), milliseconds: Int(time.tv_nsec / 1_000_000))
    }
}

/// Where log lines go: one locked writer so concurrent lines never interleave.
public final class LogSink: Sendable {
    /// The handle, held in the mutex so concurrent lines never interleave.
    private let handle: Mutex<FileHandle>

    /// Creates a sink over a file handle.
    public init(_ handle: FileHandle) { self.handle = Mutex(handle) }

    /// Standard error.
    public static let standardError = LogSink(FileHandle.standardError)

    func write(_ line: String) {
        handle.withLock { $0.write(Data(line.utf8)) }
    }
}

/// Secrets known to the process (API keys, platform tokens), replaced by `***` in every log line.
public final class SecretScrubber: Sendable {
    private let secrets = Mutex<[String]>([])

    /// The process-wide scrubber used by `BridgeLogHandler`.
    public static let shared = SecretScrubber()

    /// Creates an empty scrubber (URL patterns are always scrubbed).
    public init() {}

    /// Registers a secret; values shorter than 6 characters are ignored (they would mangle ordinary words).
    public func register(_ secret: String) {
        guard secret.count >= 6 else { return }
        secrets.withLock { secrets in if !secrets.contains(secret) { secrets.append(secret) } }
    }

    /// A secret-looking pattern: the regex, what replaces a match (built from its first capture), and the
    /// lowercase words one of which a line must contain for the regex to be worth running.
    private struct Pattern: @unchecked Sendable {
        // Safe: a compiled Regex is immutable, and matching does not mutate it.
        let regex: Regex<AnyRegexOutput>
        let replacement: @Sendable (Substring) -> String
        let words: [String]
    }

    /// Secrets that are not configured but travel in URLs and headers: Discord webhook and interaction tokens,
    /// `token=`-style query values and JSON fields, bearer credentials, Matrix access tokens. `\/` is matched too,
    /// in case escaped JSON (a response body) is logged as a value. Swift regexes, not `NSRegularExpression`: on
    /// Linux that one loads ICU's data, about 3 MB of resident memory for a process that otherwise never needs it.
    private static let patterns: [Pattern] = [
        Pattern(regex: try! Regex(#"((?:\\?/)(?:webhooks|interactions)\\?/[0-9]+\\?/)[A-Za-z0-9_.\-]+"#),
                replacement: { "\($0)***" }, words: ["webhooks", "interactions"]),
        Pattern(regex: try! Regex(#"(?i)\b((?:access_)?token|api_?key|password|secret)=[^&\s"]+"#),
                replacement: { "\($0)=***" }, words: ["token=", "key=", "password=", "secret="]),
        Pattern(regex: try! Regex(#"(?i)("(?:access_token|token|password|api_key)"\s*:\s*")[^"]+"#),
                replacement: { "\($0)***" }, words: ["token\"", "password\"", "api_key\""]),
        Pattern(regex: try! Regex(#"\b(Bearer|bearer|Bot)\s+[A-Za-z0-9_.~+/\-]{16,}=*"#),
                replacement: { "\($0) ***" }, words: ["bearer", "bot"]),
        Pattern(regex: try! Regex(#"\b(syt|mct|syr)_[A-Za-z0-9_\-]+"#),
                replacement: { "\($0)_***" }, words: ["syt_", "mct_", "syr_"]),
    ].map { pattern in
        Pattern(regex: pattern.regex.asciiOnlyWordCharacters(), replacement: pattern.replacement, words: pattern.words)
    }

    /// `text` with every registered secret and every secret-looking URL part replaced.
    public func scrub(_ text: String) -> String {
        let current = secrets.withLock { $0 }
        var result = text
        for secret in current where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: "***")
        }
        // Most lines hold none of the words, and then no regex runs at all.
        let lowered = result.lowercased()
        for pattern in Self.patterns where pattern.words.contains(where: { lowered.contains($0) }) {
            result = result.replacing(pattern.regex) { match in
                pattern.replacement(match.output[1].substring ?? "")
            }
        }
        return result
    }
}
