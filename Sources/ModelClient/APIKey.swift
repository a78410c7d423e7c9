import Foundation

/// A provider API key. It never prints, dumps or logs its value, only where it came from.
public struct APIKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Where a key was read from, so errors can say what to fix without showing the key.
    public enum Source: Sendable, Hashable, CustomStringConvertible {
        /// An environment variable, by name.
        case environment(String)
        /// A file, by path.
        case file(String)
        /// Handed over in code (tests, embedding).
        case direct

        /// E.g. `environment variable OPENROUTER_API_KEY`.
        public var description: String {
            switch self {
            case .environment(let name): "environment variable \(name)"
            case .file(let path): "key file \(path)"
            case .direct: "the API key given in code"
            }
        }
    }

    // Internal so only this module's request builder can read it.
    let value: String
    /// Where the key came from.
    public let source: Source

    /// Wraps a key; surrounding whitespace and newlines (common in key files) are dropped.
    public init(_ value: String, source: Source = .direct) {
        self.value = value.trimmingCharacters(in: .whitespacesAndNewlines)
        self.source = source
    }

    /// Reads the key from an environment variable, or throws `missingAPIKey` naming the variable.
    public static func fromEnvironment(
        _ variable: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ModelError) -> APIKey {
        let key = APIKey(environment[variable] ?? "", source: .environment(variable))
        guard !key.isEmpty else {
            throw ModelError(
                code: .missingAPIKey,
                message: "no API key: the environment variable \(variable) is not set or empty. Export \(variable)=<your key> before starting, or configure a key file.")
        }
        return key
    }

    /// Reads the key from a file (first line, trimmed), or throws `missingAPIKey` naming the file.
    public static func fromFile(_ path: String) throws(ModelError) -> APIKey {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError(
                code: .missingAPIKey,
                message: "no API key: the key file \(path) cannot be read. Check the path and its permissions.")
        }
        let firstLine = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).first ?? ""
        let key = APIKey(String(firstLine), source: .file(path))
        guard !key.isEmpty else {
            throw ModelError(code: .missingAPIKey, message: "no API key: the key file \(path) is empty. Put the key on its first line.")
        }
        return key
    }

    /// Whether the key is empty.
    public var isEmpty: Bool { value.isEmpty }

    /// The environment variable the key came from, if any.
    public var environmentVariable: String? {
        if case .environment(let name) = source { return name }
        return nil
    }

    /// `APIKey(redacted, from …)`.
    public var description: String { "APIKey(redacted, from \(source))" }
    /// Same as `description`: the value is never shown.
    public var debugDescription: String { description }
    /// Hides the value from `dump` and reflection.
    public var customMirror: Mirror { Mirror(self, children: ["source": source], displayStyle: .struct) }
}

/// The contract's name for a secret value; an `APIKey`.
public typealias Secret = APIKey
