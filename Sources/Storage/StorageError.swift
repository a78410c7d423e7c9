/// An error from a `Store`, with a machine-checkable `code` and the database location involved.
public struct StorageError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// Stable spelling of the code.
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// The database file or its directory could not be created, opened or read.
        public static let cannotOpen = Code("cannotOpen")
        /// The file is not a database or is damaged.
        public static let corrupt = Code("corrupt")
        /// A schema migration failed or the schema is newer than this version knows.
        public static let migrationFailed = Code("migrationFailed")
        /// `integrityCheck()` found problems (listed in `message`).
        public static let integrityCheckFailed = Code("integrityCheckFailed")
        /// A caller passed an invalid value (e.g. a negative count).
        public static let invalidArgument = Code("invalidArgument")
        /// The store was closed.
        public static let closed = Code("closed")
        /// A call did not finish within its deadline (`DeadlineStore`).
        public static let timedOut = Code("timedOut")
        /// Any other database failure.
        public static let database = Code("database")

        /// Same as `rawValue`.
        public var description: String { rawValue }
    }

    /// What went wrong.
    public let code: Code
    /// A human-readable explanation.
    public let message: String
    /// The database file path or URL (without credentials), when known.
    public let location: String?
    /// The backend's own error text, when there was one.
    public let underlying: String?

    /// Creates an error.
    public init(code: Code, message: String, location: String? = nil, underlying: String? = nil) {
        self.code = code
        self.message = message
        self.location = location
        self.underlying = underlying
    }

    /// `StorageError.code: message (location) [underlying]`.
    public var description: String {
        var text = "StorageError.\(code): \(message)"
        if let location { text += " (\(location))" }
        if let underlying { text += " [\(underlying)]" }
        return text
    }
}
