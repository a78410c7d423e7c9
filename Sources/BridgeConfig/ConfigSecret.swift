/// A secret read from the environment or a file; its text never appears in descriptions or logs.
public struct ConfigSecret: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let value: String
    /// Where the secret came from, e.g. `env OPENROUTER_API_KEY` or `file /run/key` (safe to print).
    public let source: String

    /// Wraps a secret value.
    public init(_ value: String, source: String) {
        self.value = value
        self.source = source
    }

    /// The secret text; use only to build a request, never to log.
    public func reveal() -> String { value }
    /// Redacted form.
    public var description: String { "<secret from \(source)>" }
    /// Redacted form.
    public var debugDescription: String { description }
    /// Hides the value from `dump` and reflection-based printing.
    public var customMirror: Mirror { Mirror(self, children: ["source": source]) }
}
