import Logging

/// Options for a line socket.
public struct LineSocketConfiguration: Sendable {
    /// Use TLS.
    public var useTLS: Bool
    /// Verify the server certificate and host name (TLS only).
    public var verifyTLS: Bool
    /// PEM file of CA certificates to trust instead of the system store.
    public var caFile: String?
    /// Largest line accepted, terminator excluded.
    public var maxLineLength: Int
    /// Most bytes that may wait in the send queue.
    public var maxQueuedSendBytes: Int

    /// Creates a configuration.
    public init(useTLS: Bool = false, verifyTLS: Bool = true, caFile: String? = nil,
                maxLineLength: Int = 64 * 1024, maxQueuedSendBytes: Int = 4 << 20) {
        self.useTLS = useTLS
        self.verifyTLS = verifyTLS
        self.caFile = caFile
        self.maxLineLength = maxLineLength
        self.maxQueuedSendBytes = maxQueuedSendBytes
    }
}

/// A raw TCP or TLS client that yields CR LF / LF terminated lines as undecoded bytes (for IRC).
public final class LineSocket: Sendable {
    /// Incoming lines without their terminator. Ends normally after our `close`, throws `LineSocketError` otherwise.
    public let lines: AsyncThrowingStream<[UInt8], any Error>
    /// `host:port`.
    public let endpoint: String
    private let connection: LineSocketConnection
    private let configuration: LineSocketConfiguration

    private init(connection: LineSocketConnection, lines: AsyncThrowingStream<[UInt8], any Error>,
                 configuration: LineSocketConfiguration) {
        self.connection = connection
        self.lines = lines
        self.endpoint = connection.endpoint
        self.configuration = configuration
    }

    /// Connects to `host:port`; returns once TCP (and TLS) are up.
    public static func connect(
        host: String, port: Int, configuration: LineSocketConfiguration = .init(), logger: Logger,
        eventLoop: EventLoop = .shared
    ) async throws -> LineSocket {
        let target = ConnectTarget(
            host: host, port: port, path: "/", method: "RAW", useTLS: configuration.useTLS,
            verifyTLS: configuration.verifyTLS, caFile: configuration.caFile, headers: [])
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        let connection = LineSocketConnection(
            target: target, maxLineLength: configuration.maxLineLength, loop: eventLoop, continuation: continuation)
        logger.debug("line socket connecting", metadata: ["host": "\(host)", "port": "\(port)"])
        try await connection.start()
        return LineSocket(connection: connection, lines: stream, configuration: configuration)
    }

    /// Queues bytes to send as they are (add the line terminator yourself).
    public func send(_ bytes: [UInt8]) async throws {
        switch connection.enqueue(Outgoing(binary: true, bytes: bytes), limit: configuration.maxQueuedSendBytes) {
        case .queued: return
        case .closed: throw LineSocketError(code: .notOpen, message: "line socket is closed", endpoint: endpoint)
        case .full:
            throw LineSocketError(
                code: .sendQueueFull, message: "more than \(configuration.maxQueuedSendBytes) bytes queued",
                endpoint: endpoint)
        }
    }

    /// Sends what is queued, closes, and returns when the connection ended.
    public func close() async {
        connection.requestClose(CloseRequest(code: 0, reason: [], abort: false))
        await connection.waitUntilFinished()
    }

    deinit {
        connection.requestClose(CloseRequest(code: 0, reason: [], abort: false))
    }
}
