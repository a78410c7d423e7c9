/// A failure of the zlib-stream transport compression, for one connection.
public struct ZlibStreamError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        /// zlib could not set up its stream state.
        public static let initFailed = Code(raw: "initFailed")
        /// The compressed data is corrupt; the connection must be dropped.
        public static let corruptStream = Code(raw: "corruptStream")
        /// Buffered or inflated data grew beyond the configured limit.
        public static let tooLarge = Code(raw: "tooLarge")
        /// The raw code name.
        public var description: String { raw }
    }
    /// The failure kind.
    public let code: Code
    /// The zlib return code, when zlib reported one.
    public let zlibStatus: Int32?
    /// Human-readable context.
    public let message: String

    /// Creates an error.
    public init(code: Code, zlibStatus: Int32? = nil, message: String) {
        self.code = code
        self.zlibStatus = zlibStatus
        self.message = message
    }

    /// A one-line summary.
    public var description: String {
        "ZlibStreamError.\(code)\(zlibStatus.map { " (zlib \($0))" } ?? ""): \(message)"
    }
}
