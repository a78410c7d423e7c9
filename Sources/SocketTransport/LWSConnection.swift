internal import CWebSockets
import DequeModule
import Foundation
import Synchronization

/// Where and how one client connection goes; built on the caller's task, used on the service thread.
struct ConnectTarget: Sendable {
    var host: String
    var port: Int
    var path: String
    /// nil: websocket upgrade; "RAW": plain TCP/TLS.
    var method: String?
    var useTLS: Bool
    var verifyTLS: Bool
    var caFile: String?
    var headers: [(String, String)]
}

/// One outgoing unit: a websocket message, or raw bytes for a line socket.
struct Outgoing {
    var binary: Bool
    var bytes: [UInt8]
}

/// A close the caller asked for.
struct CloseRequest {
    var code: UInt16
    var reason: [UInt8]
    /// Drop the TCP connection now instead of a close handshake after queued data.
    var abort: Bool
}

/// Shared state of one lws client connection. Subclasses handle their role's callbacks.
///
/// The wsi's `opaque_user_data` holds one retained reference, released exactly once when lws is done
/// with the wsi (`releaseUserData`), so the connection outlives its public wrapper while lws needs it.
class LWSConnection: @unchecked Sendable {
    // Safe to share: `shared` is a mutex; every other var is touched only on the service thread.
    let shared = Mutex(SharedState())
    let target: ConnectTarget
    let loop: EventLoop

    struct SharedState {
        var outgoing = Deque<Outgoing>()
        var outgoingBytes = 0
        var closeRequest: CloseRequest?
        var finished = false
        var connectContinuation: CheckedContinuation<Void, any Error>?
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
    }

    // Service thread only.
    var wsi: OpaquePointer?
    var started = false
    var established = false
    var released = false
    /// Bytes of the head outgoing unit already written.
    var writeOffset = 0

    init(target: ConnectTarget, loop: EventLoop) {
        self.target = target
        self.loop = loop
    }

    // MARK: - Any thread

    /// Queues bytes; fails once the connection is closed or closing.
    func enqueue(_ unit: Outgoing, limit: Int) -> EnqueueResult {
        let result: EnqueueResult = shared.withLock { shared in
            if shared.finished || shared.closeRequest != nil { return .closed }
            if shared.outgoingBytes + unit.bytes.count > limit { return .full }
            shared.outgoingBytes += unit.bytes.count
            shared.outgoing.append(unit)
            return .queued
        }
        if case .queued = result { loop.schedule(self) }
        return result
    }

    enum EnqueueResult { case queued, closed, full }

    /// Asks for a close; the first request wins, except that an abort upgrades a pending graceful close.
    func requestClose(_ request: CloseRequest) {
        let finished = shared.withLock { shared in
            if shared.finished { return true }
            if shared.closeRequest == nil || (request.abort && shared.closeRequest?.abort == false) {
                shared.closeRequest = request
            }
            return false
        }
        if !finished { loop.schedule(self) }
    }

    /// Suspends until the connection has fully ended.
    func waitUntilFinished() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished = shared.withLock { shared in
                if shared.finished { return true }
                shared.closeWaiters.append(continuation)
                return false
            }
            if finished { continuation.resume() }
        }
    }

    /// Starts the connection on the loop and waits until it is established or has failed.
    func start() async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                shared.withLock { $0.connectContinuation = continuation }
                loop.schedule(self)
            }
        } onCancel: {
            self.requestClose(CloseRequest(code: 1001, reason: [], abort: true))
        }
    }

    /// Called when the loop could not be created at all.
    func loopUnavailable() {
        finishConnection(error: makeError(kind: .connectFailed, message: "libwebsockets context could not be created"))
    }

    // MARK: - Service thread

    /// Applies whatever was queued for this connection.
    func service(on core: LoopCore) {
        if !started {
            started = true
            if closeRequestSnapshot() != nil {
                finishConnection(error: makeError(kind: .cancelled, message: "cancelled before connecting"))
                return
            }
            connect(core: core)
            return
        }
        guard let wsi, !released else { return }
        if let close = closeRequestSnapshot(), close.abort || !established {
            // Kill now: also covers a connection still in its handshake.
            lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, -1)
            return
        }
        serviceRole(wsi: wsi)
        if established { lws_callback_on_writable(wsi) }
    }

    /// Role-specific requests from other threads, applied on the service thread; the default has none.
    func serviceRole(wsi: OpaquePointer) {}

    private func connect(core: LoopCore) {
        // Raw connections do their own TLS (TLSClientSession): lws 4.1.6 starts raw-role TLS before the
        // socket exists (warmcat/libwebsockets#2916).
        let lwsTLS = target.useTLS && target.method != "RAW"
        guard let vhost = core.vhost(caFile: lwsTLS && target.verifyTLS ? target.caFile : nil) else {
            finishConnection(error: makeError(kind: .connectFailed, message: "could not create TLS client vhost (CA file \(target.caFile ?? "-"))"))
            return
        }
        var flags: Int32 = 0
        if lwsTLS {
            flags |= Int32(LCCSCF_USE_SSL.rawValue)
            if !target.verifyTLS {
                flags |= Int32(LCCSCF_ALLOW_SELFSIGNED.rawValue | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK.rawValue
                    | LCCSCF_ALLOW_EXPIRED.rawValue | LCCSCF_ALLOW_INSECURE.rawValue)
            }
        }
        let opaque = Unmanaged.passRetained(self).toOpaque()
        var info = lws_client_connect_info()
        var newWSI: OpaquePointer?
        let result: OpaquePointer? = target.host.withCString { host in
            target.path.withCString { path in
                target.method.withOptionalCString { method in
                    pb_lws_fill_connect_info(
                        &info, core.context, vhost, host, Int32(target.port), flags, path, host, method, opaque, &newWSI)
                    return lws_client_connect_via_info(&info)
                }
            }
        }
        if result == nil && !released {
            // lws gave up before any callback took ownership of the reference.
            released = true
            Unmanaged<LWSConnection>.fromOpaque(opaque).release()
            finishConnection(error: makeError(kind: .connectFailed, message: "could not start connection to \(target.host):\(target.port)"))
        } else if !released {
            wsi = newWSI ?? result
        }
    }

    /// Dispatches one lws callback; returns lws's expected value (-1 closes the connection).
    func handle(wsi: OpaquePointer, reason: lws_callback_reasons, input: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        self.wsi = wsi
        switch reason {
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
            let text = input.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? "unknown error"
            let lower = text.lowercased()
            let kind: ErrorKind = lower.contains("tls") || lower.contains("ssl") || lower.contains("certificate")
                || lower.contains("verif") ? .tlsFailure : .connectFailed
            finishConnection(error: makeError(kind: kind, message: text))
            releaseUserData(wsi: wsi)
        case LWS_CALLBACK_WSI_DESTROY:
            if !isFinished() {
                finishConnection(error: makeError(kind: .connectionDropped, message: "connection destroyed"))
            }
            releaseUserData(wsi: wsi)
        default:
            return handleRole(wsi: wsi, reason: reason, input: input, length: length)
        }
        return 0
    }

    /// Role-specific callbacks (websocket or raw).
    func handleRole(wsi: OpaquePointer, reason: lws_callback_reasons, input: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        0
    }

    /// Marks the connection usable and wakes the task waiting in `start`.
    func markEstablished(wsi: OpaquePointer) {
        established = true
        let (continuation, wantsWrite, abort) = shared.withLock { shared in
            defer { shared.connectContinuation = nil }
            return (shared.connectContinuation, !shared.outgoing.isEmpty || shared.closeRequest != nil,
                    shared.closeRequest?.abort == true)
        }
        continuation?.resume()
        if abort {
            lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, -1)
        } else if wantsWrite {
            lws_callback_on_writable(wsi)
        }
    }

    /// Ends the connection once: fails a pending connect, ends the incoming stream, wakes close waiters.
    func finishConnection(error: (any Error)?) {
        let taken = shared.withLock { shared -> (CheckedContinuation<Void, any Error>?, [CheckedContinuation<Void, Never>])? in
            if shared.finished { return nil }
            shared.finished = true
            defer {
                shared.connectContinuation = nil
                shared.closeWaiters = []
                shared.outgoing.removeAll()
                shared.outgoingBytes = 0
            }
            return (shared.connectContinuation, shared.closeWaiters)
        }
        guard let (continuation, waiters) = taken else { return }
        continuation?.resume(throwing: error ?? makeError(kind: .connectFailed, message: "closed while connecting"))
        finishIncoming(error: error)
        waiters.forEach { $0.resume() }
    }

    /// Ends the role's incoming sequence.
    func finishIncoming(error: (any Error)?) {}

    /// Builds the role's error type.
    func makeError(kind: ErrorKind, message: String) -> any Error {
        WebSocketError(code: kind.webSocketCode, message: message, url: "\(target.host):\(target.port)")
    }

    func isFinished() -> Bool {
        shared.withLock { $0.finished }
    }

    func closeRequestSnapshot() -> CloseRequest? {
        shared.withLock { $0.closeRequest }
    }

    /// Head of the outgoing queue, if any.
    func peekOutgoing() -> Outgoing? {
        shared.withLock { $0.outgoing.first }
    }

    /// Drops the head of the outgoing queue after it was fully written; returns whether more is queued.
    func popOutgoing() -> Bool {
        shared.withLock { shared in
            if let head = shared.outgoing.popFirst() { shared.outgoingBytes -= head.bytes.count }
            return !shared.outgoing.isEmpty
        }
    }

    /// Gives back the reference held by the wsi's opaque user data; call last, self may be freed after.
    func releaseUserData(wsi: OpaquePointer) {
        guard !released else { return }
        released = true
        self.wsi = nil
        lws_set_opaque_user_data(wsi, nil)
        Unmanaged.passUnretained(self).release()
    }
}

/// Error kinds shared by both roles, mapped onto each role's public error code.
enum ErrorKind {
    case connectFailed, tlsFailure, connectionDropped, cancelled

    var webSocketCode: WebSocketError.Code {
        switch self {
        case .connectFailed: .connectFailed
        case .tlsFailure: .tlsFailure
        case .connectionDropped: .connectionDropped
        case .cancelled: .cancelled
        }
    }

    var lineSocketCode: LineSocketError.Code {
        switch self {
        case .connectFailed: .connectFailed
        case .tlsFailure: .tlsFailure
        case .connectionDropped: .connectionDropped
        case .cancelled: .cancelled
        }
    }
}

/// The one C callback for every wsi of the process.
let pbLWSCallback: @convention(c) (
    OpaquePointer?, lws_callback_reasons, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int
) -> Int32 = { wsi, reason, _, input, length in
    guard let wsi else { return 0 }
    if reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED {
        // Reach the loop through the context, never through `EventLoop.shared` (it may still be initialising).
        guard let context = lws_get_context(wsi), let user = lws_context_user(context) else { return 0 }
        Unmanaged<LoopCore>.fromOpaque(user).takeUnretainedValue().drain()
        return 0
    }
    guard let opaque = lws_get_opaque_user_data(wsi) else { return 0 }
    let connection = Unmanaged<LWSConnection>.fromOpaque(opaque).takeUnretainedValue()
    return withExtendedLifetime(connection) {
        connection.handle(wsi: wsi, reason: reason, input: input, length: length)
    }
}
