internal import CWebSockets
import Foundation
import Logging

/// A request received by `HTTPServer` (GET; PUT and POST with their body on a server with an exchange stream).
public struct HTTPServerRequest: Sendable, Hashable {
    /// The path without the query string, e.g. `/metrics`.
    public var path: String
    /// The `Authorization` header, when sent.
    public var authorization: String?
    /// `GET`, `PUT` or `POST`.
    public var method: String
    /// The query's `name=value` pairs as sent (not decoded), in order.
    public var query: [String]
    /// The request body (empty for GET).
    public var body: [UInt8]

    /// Creates a request.
    public init(path: String, authorization: String? = nil, method: String = "GET", query: [String] = [], body: [UInt8] = []) {
        self.path = path
        self.authorization = authorization
        self.method = method
        self.query = query
        self.body = body
    }

    /// The first value of query parameter `name`, percent-decoded.
    public func queryValue(_ name: String) -> String? {
        for item in query {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.first.map(String.init) == name {
                let raw = parts.count > 1 ? String(parts[1]) : ""
                return raw.removingPercentEncoding ?? raw
            }
        }
        return nil
    }
}

/// One request waiting for its answer, handed out by an `HTTPServer` made with an exchange stream.
public struct HTTPServerExchange: Sendable {
    /// The complete request.
    public let request: HTTPServerRequest
    private let reply: @Sendable (HTTPServerResponse) -> Void

    init(request: HTTPServerRequest, reply: @escaping @Sendable (HTTPServerResponse) -> Void) {
        self.request = request
        self.reply = reply
    }

    /// Sends the response; only the first call counts (a connection closed meanwhile gets nothing).
    public func respond(_ response: HTTPServerResponse) { reply(response) }
}

/// A complete response: status, content type and body.
public struct HTTPServerResponse: Sendable, Hashable {
    /// HTTP status code.
    public var status: Int
    /// `Content-Type` value.
    public var contentType: String
    /// Body bytes.
    public var body: [UInt8]

    /// Creates a response.
    public init(status: Int, contentType: String = "text/plain; charset=utf-8", body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    /// A plain-text response.
    public static func text(_ text: String, status: Int = 200) -> HTTPServerResponse {
        HTTPServerResponse(status: status, body: Array(text.utf8))
    }
}

/// A failure to start an `HTTPServer`.
public struct HTTPServerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Hashable, Sendable {
        let raw: String
        /// The address could not be bound (in use, bad interface, no permission).
        public static let bindFailed = Code(raw: "bindFailed")
        /// The shared event loop is unavailable.
        public static let loopUnavailable = Code(raw: "loopUnavailable")
    }

    /// The error code.
    public var code: Code
    /// `host:port` the server tried.
    public var address: String
    /// A human explanation.
    public var message: String

    /// `code at address: message`.
    public var description: String { "HTTPServerError(\(code.raw)) at \(address): \(message)" }
}

/// A small HTTP/1.1 server for GET endpoints (metrics, health) on the process's one lws loop.
///
/// The handler runs on the lws service thread, so it must return quickly and never block.
public final class HTTPServer: Sendable {
    private let core: HTTPServerCore
    private let loop: EventLoop

    /// Creates a server; nothing listens until `start()`.
    /// - Parameters:
    ///   - host: interface address to bind, e.g. `127.0.0.1`.
    ///   - port: port to bind; 0 picks a free one (read it back from `start()`).
    public init(host: String, port: Int, loop: EventLoop = .shared, logger: Logger,
                handler: @escaping @Sendable (HTTPServerRequest) -> HTTPServerResponse) {
        self.core = HTTPServerCore(host: host, port: port, logger: logger, handler: .immediate(handler))
        self.loop = loop
    }

    /// Creates a server whose requests (GET, and PUT/POST with a body of at most `maxBodyBytes`) are handed to
    /// `exchanges` to be answered later, off the service thread. A body over the limit gets 413 unread; when
    /// the stream does not take a request (full or finished) it gets 503.
    public init(host: String, port: Int, loop: EventLoop = .shared, logger: Logger, maxBodyBytes: Int,
                exchanges: AsyncStream<HTTPServerExchange>.Continuation) {
        let core = HTTPServerCore(host: host, port: port, logger: logger, handler: .deferred(exchanges, maxBodyBytes: maxBodyBytes))
        self.core = core
        self.loop = loop
        core.loop = loop
    }

    /// Binds and starts listening; returns the bound port.
    @discardableResult
    public func start() async throws -> Int {
        let core = self.core
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
            let queued = loop.perform { loopCore in
                continuation.resume(with: Result { try core.listen(on: loopCore) })
            }
            if !queued {
                continuation.resume(throwing: HTTPServerError(
                    code: .loopUnavailable, address: core.address, message: "the libwebsockets context could not be created"))
            }
        }
    }

    /// Stops serving: open connections and later requests are closed without a response. (lws 4.1.6 may keep
    /// the listening socket itself open until the process ends.) Calling it again is harmless.
    public func stop() async {
        let core = self.core
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let queued = loop.perform { _ in
                core.close()
                continuation.resume()
            }
            if !queued { continuation.resume() }
        }
    }

    deinit {
        let core = self.core
        _ = loop.perform { _ in core.close() }
    }
}

/// Service-thread state of one server: its vhost, protocol table and responses being written.
final class HTTPServerCore: @unchecked Sendable {
    // Safe to share: after init, every var is touched only on the lws service thread (jobs and callbacks).
    let host: String
    let port: Int
    let logger: Logger
    enum Handler {
        /// Answered on the service thread, at once (GET only).
        case immediate(@Sendable (HTTPServerRequest) -> HTTPServerResponse)
        /// Handed out as exchanges, answered later.
        case deferred(AsyncStream<HTTPServerExchange>.Continuation, maxBodyBytes: Int)
    }

    /// A deferred request: its body as it arrives, then the answer it waits for.
    private struct Pending {
        var request: HTTPServerRequest
        var id: UInt64
        var answer: HTTPServerResponse?
    }

    let handler: Handler
    /// Set once before `start()` for deferred servers; jobs that deliver answers run on it.
    var loop: EventLoop?
    private var pending: [OpaquePointer: Pending] = [:]
    /// Requests answered before their body was read (413, 405): the body is read and dropped so the answer
    /// reaches the client and the connection stays in step; the value says whether the answer is all written.
    private var discarding: [OpaquePointer: Bool] = [:]
    private var nextID: UInt64 = 0
    private let protocols: UnsafeMutablePointer<lws_protocols>
    private let protocolName: UnsafeMutablePointer<CChar>
    private let vhostName: UnsafeMutablePointer<CChar>
    private let hostCString: UnsafeMutablePointer<CChar>
    private var vhost: OpaquePointer?
    private var closed = false
    private var responses: [OpaquePointer: (body: [UInt8], offset: Int)] = [:]

    var address: String { "\(host):\(port)" }

    init(host: String, port: Int, logger: Logger, handler: Handler) {
        self.host = host
        self.port = port
        self.logger = logger
        self.handler = handler
        protocolName = strdup("pb-http")
        vhostName = strdup("pb-http-\(UUID().uuidString.prefix(8))")
        hostCString = strdup(host)
        protocols = .allocate(capacity: 2)
        protocols.initialize(to: lws_protocols())
        (protocols + 1).initialize(to: lws_protocols())
    }

    deinit {
        protocols.deinitialize(count: 2)
        protocols.deallocate()
        free(protocolName)
        free(vhostName)
        free(hostCString)
    }

    /// Service thread: creates the listening vhost.
    func listen(on loop: LoopCore) throws -> Int {
        guard !closed, vhost == nil else {
            throw HTTPServerError(code: .bindFailed, address: address, message: "the server was already started or stopped")
        }
        // The protocol's user pointer leads callbacks back here. lws keeps its own copy of the protocol table
        // and may call back after the vhost is destroyed, so the reference is never released: one small
        // object per server for the life of the process.
        protocols.pointee = lws_protocols(
            name: UnsafePointer(protocolName), callback: pbHTTPServerCallback, per_session_data_size: 0,
            rx_buffer_size: 0, id: 0, user: Unmanaged.passRetained(self).toOpaque(), tx_packet_size: 0)
        var info = lws_context_creation_info()
        pb_lws_fill_server_vhost_info(&info, vhostName, protocols, hostCString, Int32(port))
        guard let created = lws_create_vhost(loop.context, &info) else {
            Unmanaged<HTTPServerCore>.fromOpaque(protocols.pointee.user).release()
            protocols.pointee.user = nil
            throw HTTPServerError(code: .bindFailed, address: address, message: "could not listen (address in use or not local?)")
        }
        vhost = created
        let bound = Int(lws_get_vhost_listen_port(created))
        logger.info("http server listening", metadata: ["address": "\(host):\(bound)"])
        return bound
    }

    /// Service thread: destroys the vhost; callbacks that still arrive close their connection.
    func close() {
        guard !closed else { return }
        closed = true
        responses.removeAll()
        pending.removeAll()
        discarding.removeAll()
        if let vhost {
            lws_vhost_destroy(vhost)
            self.vhost = nil
        }
    }

    /// Service thread: one lws callback for a connection of this server.
    func handle(wsi: OpaquePointer, reason: lws_callback_reasons, input: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        switch reason {
        case LWS_CALLBACK_HTTP:
            guard !closed else { return -1 }
            switch readRequest(wsi) {
            case .failure(let error):
                return writeHeaders(wsi, error.response) ? 0 : -1
            case .success(let request):
                switch handler {
                case .immediate(let respond):
                    guard request.method == "GET" else { return answerEarly(wsi, .text("only GET is supported\n", status: 405)) }
                    return writeHeaders(wsi, respond(request)) ? 0 : -1
                case .deferred(_, let maxBodyBytes):
                    let declared = pb_lws_content_length(wsi)
                    if declared < 0 { return writeHeaders(wsi, .text("bad Content-Length\n", status: 400)) ? 0 : -1 }
                    if declared > maxBodyBytes {
                        return answerEarly(wsi, .text("request body too large (limit \(maxBodyBytes) bytes)\n", status: 413))
                    }
                    nextID &+= 1
                    pending[wsi] = Pending(request: request, id: nextID)
                    // lws reads a declared body next and reports its end; without one the request is complete.
                    if declared == 0 || request.method == "GET" { dispatch(wsi) }
                    return 0
                }
            }
        case LWS_CALLBACK_HTTP_BODY:
            if discarding[wsi] != nil { return 0 }
            guard !closed, case .deferred(_, let maxBodyBytes) = handler, var entry = pending[wsi] else { return -1 }
            if let input, length > 0 {
                guard entry.request.body.count + length <= maxBodyBytes else {
                    // More than Content-Length declared: not a request to answer.
                    pending[wsi] = nil
                    return -1
                }
                entry.request.body.append(contentsOf: UnsafeRawBufferPointer(start: input, count: length))
                pending[wsi] = entry
            }
            return 0
        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
            if let written = discarding.removeValue(forKey: wsi) {
                // The early answer finishes the transaction once both it and the body are through.
                return written ? (lws_http_transaction_completed(wsi) != 0 ? -1 : 0) : 0
            }
            guard !closed, pending[wsi] != nil else { return -1 }
            dispatch(wsi)
            return 0
        case LWS_CALLBACK_HTTP_WRITEABLE:
            guard !closed else { return -1 }
            if let answer = pending[wsi]?.answer {
                pending[wsi] = nil
                return writeHeaders(wsi, answer) ? 0 : -1
            }
            guard let pending = responses[wsi] else { return 0 }
            let chunk = 16 * 1024
            let end = min(pending.body.count, pending.offset + chunk)
            let final = end == pending.body.count
            let pre = Int(pb_lws_pre())
            var frame = [UInt8](repeating: 0, count: pre + max(1, end - pending.offset))
            frame.replaceSubrange(pre..<(pre + end - pending.offset), with: pending.body[pending.offset..<end])
            let written = frame.withUnsafeMutableBufferPointer { raw in
                pb_lws_write(wsi, raw.baseAddress! + pre, end - pending.offset, pb_lws_write_http(final ? 1 : 0))
            }
            if written < 0 {
                responses[wsi] = nil
                return -1
            }
            if final {
                responses[wsi] = nil
                if discarding[wsi] != nil {
                    discarding[wsi] = true
                    return 0
                }
                return lws_http_transaction_completed(wsi) != 0 ? -1 : 0
            }
            responses[wsi] = (pending.body, end)
            lws_callback_on_writable(wsi)
            return 0
        case LWS_CALLBACK_CLOSED_HTTP, LWS_CALLBACK_WSI_DESTROY:
            responses[wsi] = nil
            pending[wsi] = nil
            discarding[wsi] = nil
            return 0
        default:
            return 0
        }
    }

    /// Service thread: the request line's method and path, the query and the credential, or the error answer.
    private func readRequest(_ wsi: OpaquePointer) -> Result<HTTPServerRequest, HTTPServerResponseError> {
        var buffer = [CChar](repeating: 0, count: 2048)
        var method: Int32 = 0
        let length = pb_lws_get_method_uri(wsi, &buffer, Int32(buffer.count), &method)
        var authorization = [CChar](repeating: 0, count: 512)
        let authorizationLength = pb_lws_get_authorization(wsi, &authorization, Int32(authorization.count))
        // Never act on a truncated path or credential.
        if length == -2 || authorizationLength < 0 || Int(length) >= buffer.count - 1 {
            return .failure(HTTPServerResponseError(.text("request too large\n", status: 431)))
        }
        if length < 0 { return .failure(HTTPServerResponseError(.text("method not supported\n", status: 405))) }
        let path = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let credential = authorizationLength > 0 ? authorization.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } : nil
        var query: [String] = []
        var fragment = [CChar](repeating: 0, count: 1024)
        for index in 0..<32 {
            let count = pb_lws_query_fragment(wsi, &fragment, Int32(fragment.count), Int32(index))
            if count == -2 { return .failure(HTTPServerResponseError(.text("request too large\n", status: 431))) }
            if count < 0 { break }
            query.append(fragment.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        let name = method == 1 ? "PUT" : method == 2 ? "POST" : "GET"
        return .success(HTTPServerRequest(path: path, authorization: credential, method: name, query: query))
    }

    /// Service thread: answers before reading a declared body, which is then read and dropped.
    private func answerEarly(_ wsi: OpaquePointer, _ response: HTTPServerResponse) -> Int32 {
        if pb_lws_content_length(wsi) > 0 { discarding[wsi] = false }
        return writeHeaders(wsi, response) ? 0 : -1
    }

    /// Service thread: hands a complete request out; its answer comes back through `deliver`.
    private func dispatch(_ wsi: OpaquePointer) {
        guard case .deferred(let exchanges, _) = handler, let entry = pending[wsi], let loop else { return }
        // The answer may take a while (a store write, a full event queue); lws must not drop the connection.
        pb_lws_await_response(wsi, 120)
        let id = entry.id
        let connection = ConnectionHandle(wsi: wsi)
        let exchange = HTTPServerExchange(request: entry.request) { [self] response in
            _ = loop.perform { _ in self.deliver(connection.wsi, id: id, response) }
        }
        switch exchanges.yield(exchange) {
        case .enqueued: break
        default: deliver(wsi, id: id, .text("busy; try again\n", status: 503))
        }
    }

    /// Service thread: an answer for the request `id` on `wsi`, if that connection still waits for it.
    private func deliver(_ wsi: OpaquePointer, id: UInt64, _ response: HTTPServerResponse) {
        guard !closed, pending[wsi]?.id == id, pending[wsi]?.answer == nil else { return }
        pending[wsi]?.answer = response
        lws_callback_on_writable(wsi)
    }

    /// Service thread: writes the status line and headers and queues the body. False when the write failed.
    private func writeHeaders(_ wsi: OpaquePointer, _ response: HTTPServerResponse) -> Bool {
        let headerSpace = 1024
        let pre = Int(pb_lws_pre())
        var headers = [UInt8](repeating: 0, count: pre + headerSpace)
        let failed = headers.withUnsafeMutableBufferPointer { raw -> Bool in
            let start = raw.baseAddress! + pre
            return pb_lws_write_http_headers(
                wsi, UInt32(response.status), response.contentType, response.body.count, start, start + headerSpace - 1) != 0
        }
        if failed { return false }
        responses[wsi] = (response.body, 0)
        lws_callback_on_writable(wsi)
        return true
    }
}

/// A connection named in a job for the service thread.
private struct ConnectionHandle: @unchecked Sendable {
    // Safe: only used on the service thread, and only after `deliver` checked it still waits (by request id).
    let wsi: OpaquePointer
}

/// An answer given instead of handling a request (it could not be read).
struct HTTPServerResponseError: Error {
    let response: HTTPServerResponse
    init(_ response: HTTPServerResponse) { self.response = response }
}

/// The C callback of every `HTTPServer` vhost; the protocol's user pointer is the server's core.
let pbHTTPServerCallback: @convention(c) (
    OpaquePointer?, lws_callback_reasons, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int
) -> Int32 = { wsi, reason, _, input, length in
    guard let wsi else { return 0 }
    if reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED {
        guard let context = lws_get_context(wsi), let user = lws_context_user(context) else { return 0 }
        Unmanaged<LoopCore>.fromOpaque(user).takeUnretainedValue().drain()
        return 0
    }
    guard let user = pb_lws_protocol_user(wsi) else {
        // A connection of a server being destroyed.
        return reason == LWS_CALLBACK_HTTP ? -1 : 0
    }
    let core = Unmanaged<HTTPServerCore>.fromOpaque(user).takeUnretainedValue()
    return core.handle(wsi: wsi, reason: reason, input: input, length: length)
}
