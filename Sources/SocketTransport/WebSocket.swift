import Logging

/// Options for one websocket connection.
public struct WebSocketConfiguration: Sendable {
    /// PEM file of CA certificates to trust instead of the system store (wss only).
    public var caFile: String?
    /// Verify the server certificate and host name (wss only). Off only for tests and trusted networks.
    public var verifyTLS: Bool
    /// Largest incoming message, after reassembly.
    public var maxMessageSize: Int
    /// Most bytes that may wait in the send queue.
    public var maxQueuedSendBytes: Int
    /// Received bytes waiting for the reader before the socket stops reading (backpressure); reading resumes
    /// once the reader has taken half of them.
    public var maxQueuedReceiveBytes: Int

    /// Creates a configuration.
    public init(caFile: String? = nil, verifyTLS: Bool = true, maxMessageSize: Int = 64 << 20,
                maxQueuedSendBytes: Int = 64 << 20, maxQueuedReceiveBytes: Int = 1 << 20) {
        self.caFile = caFile
        self.verifyTLS = verifyTLS
        self.maxMessageSize = maxMessageSize
        self.maxQueuedSendBytes = maxQueuedSendBytes
        self.maxQueuedReceiveBytes = maxQueuedReceiveBytes
    }
}

/// A websocket client connection served by the process-wide `EventLoop`.
///
/// `messages` yields complete messages and ends by throwing `WebSocketError`: `.closed` with the server's
/// close code and reason, `.connectionDropped` for a lost connection. After our own `close`, it just ends.
public final class WebSocket: Sendable {
    /// Incoming messages, reassembled from fragments. Iterate from one task; a reader that falls behind by
    /// `maxQueuedReceiveBytes` stops the socket reading until it catches up.
    public let messages: WebSocketMessages
    /// The URL this socket connected to.
    public let url: String
    private let connection: WebSocketConnection
    private let configuration: WebSocketConfiguration
    private let logger: Logger

    private init(connection: WebSocketConnection, messages: WebSocketMessages,
                 url: String, configuration: WebSocketConfiguration, logger: Logger) {
        self.connection = connection
        self.messages = messages
        self.url = url
        self.configuration = configuration
        self.logger = logger
    }

    /// Connects to a ws:// or wss:// URL with extra handshake headers; returns once the upgrade succeeded.
    public static func connect(
        url: String, headers: [(String, String)] = [], configuration: WebSocketConfiguration = .init(),
        logger: Logger, eventLoop: EventLoop = .shared
    ) async throws -> WebSocket {
        guard let parsed = WebSocketURL(url) else {
            throw WebSocketError(code: .invalidURL, message: "not a ws:// or wss:// URL", url: url)
        }
        let target = ConnectTarget(
            host: parsed.host, port: parsed.port, path: parsed.pathAndQuery, method: nil, useTLS: parsed.secure,
            verifyTLS: configuration.verifyTLS, caFile: configuration.caFile, headers: headers)
        let inbox = WebSocketInbox()
        let connection = WebSocketConnection(
            target: target, url: url, maxMessageSize: configuration.maxMessageSize,
            maxQueuedReceiveBytes: configuration.maxQueuedReceiveBytes, loop: eventLoop, inbox: inbox)
        logger.debug("websocket connecting", metadata: ["host": "\(parsed.host)", "port": "\(parsed.port)"])
        try await connection.start()
        return WebSocket(connection: connection, messages: WebSocketMessages(inbox, connection: connection), url: url,
                         configuration: configuration,
                         logger: logger)
    }

    /// Queues a text message; messages from one caller go out in call order.
    public func send(text: String) async throws {
        try enqueue(Outgoing(binary: false, bytes: Array(text.utf8)))
    }

    /// Queues a binary message; messages from one caller go out in call order.
    public func send(binary: [UInt8]) async throws {
        try enqueue(Outgoing(binary: true, bytes: binary))
    }

    private func enqueue(_ unit: Outgoing) throws {
        switch connection.enqueue(unit, limit: configuration.maxQueuedSendBytes) {
        case .queued: return
        case .closed: throw WebSocketError(code: .notOpen, message: "websocket is closed or closing", url: url)
        case .full:
            throw WebSocketError(
                code: .sendQueueFull, message: "more than \(configuration.maxQueuedSendBytes) bytes queued", url: url)
        }
    }

    /// Sends queued messages, then a close frame with `code` and `reason`; returns when the connection ended.
    public func close(code: UInt16 = 1000, reason: String = "") async {
        connection.requestClose(CloseRequest(code: code, reason: Array(reason.utf8.prefix(123)), abort: false))
        await connection.waitUntilFinished()
    }

    /// Drops the connection without a close handshake.
    public func abort() {
        connection.requestClose(CloseRequest(code: 1006, reason: [], abort: true))
    }

    deinit {
        connection.requestClose(CloseRequest(code: 1001, reason: [], abort: false))
    }
}
