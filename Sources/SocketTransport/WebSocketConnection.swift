internal import CWebSockets
import Synchronization

/// The websocket role of an lws client connection: upgrade headers, reassembly, framed writes, close codes.
final class WebSocketConnection: LWSConnection, @unchecked Sendable {
    // Safe to share: see LWSConnection; the fields below are service-thread only, `inbox` is thread-safe.
    let inbox: WebSocketInbox
    let url: String
    let maxMessageSize: Int
    let maxQueuedReceiveBytes: Int
    /// Received bytes the reader has not taken yet, and whether reading is switched off because of them.
    private let rx = Mutex<(queued: Int, paused: Bool, resume: Bool)>((0, false, false))
    private var rxBuffer: [UInt8] = []
    private var rxBinary = false
    private var rxFailed = false
    private var peerClose: (code: UInt16, reason: String)?
    private var weClosed = false

    init(target: ConnectTarget, url: String, maxMessageSize: Int, maxQueuedReceiveBytes: Int, loop: EventLoop,
         inbox: WebSocketInbox) {
        self.inbox = inbox
        self.url = url
        self.maxMessageSize = maxMessageSize
        self.maxQueuedReceiveBytes = max(1, maxQueuedReceiveBytes)
        super.init(target: target, loop: loop)
    }

    /// The reader took a message of `bytes` bytes; once it has caught up, reading is switched back on.
    func consumed(_ bytes: Int) {
        let resume = rx.withLock { rx -> Bool in
            rx.queued -= bytes
            guard rx.paused, rx.queued <= maxQueuedReceiveBytes / 2 else { return false }
            rx.paused = false
            rx.resume = true
            return true
        }
        if resume { loop.schedule(self) }
    }

    override func serviceRole(wsi: OpaquePointer) {
        let resume = rx.withLock { rx in
            defer { rx.resume = false }
            return rx.resume
        }
        if resume { lws_rx_flow_control(wsi, 1) }
    }

    override func makeError(kind: ErrorKind, message: String) -> any Error {
        WebSocketError(code: kind.webSocketCode, message: message, url: url)
    }

    override func finishIncoming(error: (any Error)?) {
        inbox.finish(throwing: error)
    }

    override func handleRole(
        wsi: OpaquePointer, reason: lws_callback_reasons, input: UnsafeMutableRawPointer?, length: Int
    ) -> Int32 {
        switch reason {
        case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
            guard let input else { return 0 }
            for (name, value) in target.headers {
                let failed = (name.hasSuffix(":") ? name : name + ":").withCString { cName in
                    value.withCString { pb_lws_append_header(wsi, cName, $0, input, length) != 0 }
                }
                if failed { return -1 }
            }
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
            markEstablished(wsi: wsi)
        case LWS_CALLBACK_CLIENT_RECEIVE:
            return receive(wsi: wsi, input: input, length: length)
        case LWS_CALLBACK_CLIENT_WRITEABLE:
            return writeable(wsi: wsi)
        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            var code: UInt16 = 1005
            var reason = ""
            if let input, length >= 2 {
                let bytes = UnsafeRawBufferPointer(start: input, count: length)
                code = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
                reason = String(decoding: bytes[2...], as: UTF8.self)
            }
            peerClose = (code, reason)
        case LWS_CALLBACK_CLIENT_CLOSED:
            if let peerClose {
                finishConnection(error: WebSocketError(
                    code: .closed, message: "server closed the connection", url: url,
                    closeCode: peerClose.code, closeReason: peerClose.reason))
            } else if weClosed {
                finishConnection(error: nil)
            } else {
                finishConnection(error: WebSocketError(
                    code: .connectionDropped, message: "connection dropped without a close frame", url: url))
            }
            releaseUserData(wsi: wsi)
        default:
            break
        }
        return 0
    }

    private func receive(wsi: OpaquePointer, input: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        if rxFailed { return 0 }
        if rxBuffer.isEmpty { rxBinary = lws_frame_is_binary(wsi) != 0 }
        if rxBuffer.count + length > maxMessageSize {
            failReceive(wsi: wsi, code: .messageTooLarge, closeCode: 1009,
                        message: "incoming message exceeds \(maxMessageSize) bytes")
            return 0
        }
        let final = lws_is_final_fragment(wsi) != 0 && lws_remaining_packet_payload(wsi) == 0
        if rxBuffer.isEmpty && final {
            // The usual message arrives in one piece: its bytes go straight from lws's buffer to the inbox's.
            deliver(UnsafeRawBufferPointer(start: length > 0 ? input : nil, count: length), wsi: wsi)
            return 0
        }
        if let input, length > 0 {
            rxBuffer.append(contentsOf: UnsafeRawBufferPointer(start: input, count: length))
        }
        guard final else { return 0 }
        rxBuffer.withUnsafeBytes { deliver($0, wsi: wsi) }
        // Not kept: a capacity grown by one large message would stay with the connection.
        rxBuffer = []
        return 0
    }

    /// Hands a complete message to the inbox, or fails the connection for text that is not UTF-8.
    private func deliver(_ bytes: UnsafeRawBufferPointer, wsi: OpaquePointer) {
        // Validated here, where the message arrives, so the reader can trust the text; only text frames pay for it.
        if !rxBinary, String(validating: bytes, as: UTF8.self) == nil {
            failReceive(wsi: wsi, code: .invalidUTF8, closeCode: 1007, message: "text message is not valid UTF-8")
            return
        }
        // Backpressure: past the limit, stop reading the socket until the reader catches up (`consumed`).
        let pause = rx.withLock { rx -> Bool in
            rx.queued += bytes.count
            guard !rx.paused, rx.queued > maxQueuedReceiveBytes else { return false }
            rx.paused = true
            rx.resume = false
            return true
        }
        if pause { lws_rx_flow_control(wsi, 0) }
        inbox.append(bytes, binary: rxBinary)
    }

    /// Ends the stream with `code` and closes the connection with `closeCode`.
    private func failReceive(wsi: OpaquePointer, code: WebSocketError.Code, closeCode: UInt16, message: String) {
        rxFailed = true
        rxBuffer = []
        inbox.finish(throwing: WebSocketError(code: code, message: message, url: url))
        shared.withLock { shared in
            shared.closeRequest = CloseRequest(code: closeCode, reason: Array(message.utf8.prefix(120)), abort: false)
            shared.outgoing.removeAll()
            shared.outgoingBytes = 0
        }
        lws_callback_on_writable(wsi)
    }

    /// Writes one frame (a fragment of at most `writeChunk` bytes) or performs the requested close.
    private func writeable(wsi: OpaquePointer) -> Int32 {
        let core = loop.core
        if let head = peekOutgoing() {
            let total = head.bytes.count
            let start = writeOffset
            let count = min(LoopCore.writeChunk, total - start)
            let payload = core.writeBuffer + core.pre
            head.bytes.withUnsafeBufferPointer { source in
                if count > 0 { payload.update(from: source.baseAddress! + start, count: count) }
            }
            let isStart = start == 0
            let isEnd = start + count == total
            let flags = pb_lws_ws_flags(head.binary ? 1 : 0, isStart ? 1 : 0, isEnd ? 1 : 0)
            if pb_lws_write(wsi, payload, count, flags) < count {
                weClosed = false
                return -1
            }
            var more = true
            if isEnd {
                writeOffset = 0
                more = popOutgoing()
            } else {
                writeOffset = start + count
            }
            if more || closeRequestSnapshot() != nil { lws_callback_on_writable(wsi) }
            return 0
        }
        if let close = closeRequestSnapshot() {
            close.reason.withUnsafeBufferPointer { reason in
                pb_lws_close_reason(wsi, Int32(close.code), reason.baseAddress, reason.count)
            }
            weClosed = true
            return -1
        }
        return 0
    }
}
