internal import CWebSockets

/// The raw role of an lws client connection: bytes out, lines in, with our own TLS layer when asked.
final class LineSocketConnection: LWSConnection, @unchecked Sendable {
    // Safe to share: see LWSConnection; the vars below are service-thread only, `continuation` is thread-safe.
    let continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation
    private var splitter: LineSplitter
    private var failed = false
    private var tls: TLSClientSession?
    /// Ciphertext waiting for RAW_WRITEABLE.
    private var cipherOut: [UInt8] = []
    private var cipherOffset = 0

    init(target: ConnectTarget, maxLineLength: Int, loop: EventLoop,
         continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation) {
        self.continuation = continuation
        splitter = LineSplitter(maxLineLength: maxLineLength)
        super.init(target: target, loop: loop)
    }

    var endpoint: String { "\(target.host):\(target.port)" }

    override func makeError(kind: ErrorKind, message: String) -> any Error {
        LineSocketError(code: kind.lineSocketCode, message: message, endpoint: endpoint)
    }

    override func finishIncoming(error: (any Error)?) {
        continuation.finish(throwing: error)
    }

    override func handleRole(
        wsi: OpaquePointer, reason: lws_callback_reasons, input: UnsafeMutableRawPointer?, length: Int
    ) -> Int32 {
        switch reason {
        case LWS_CALLBACK_RAW_CONNECTED:
            guard target.useTLS else {
                markEstablished(wsi: wsi)
                return 0
            }
            do {
                let session = try TLSClientSession(host: target.host, verify: target.verifyTLS, caFile: target.caFile)
                tls = session
                _ = try session.handshake()
                queueCiphertext(wsi: wsi)
            } catch {
                return failTLS(error.message)
            }
        case LWS_CALLBACK_RAW_RX:
            guard !failed, let input, length > 0 else { return 0 }
            let bytes = UnsafeRawBufferPointer(start: input, count: length)
            guard let tls else { return deliver(bytes) }
            tls.receiveCiphertext(bytes)
            do {
                if !tls.handshakeDone {
                    if try tls.handshake() { markEstablished(wsi: wsi) }
                }
                var result: Int32 = 0
                if tls.handshakeDone {
                    let (plain, _) = try tls.readPlaintext()
                    result = plain.withUnsafeBytes { deliver($0) }
                }
                queueCiphertext(wsi: wsi)
                return result
            } catch {
                return failTLS(error.message)
            }
        case LWS_CALLBACK_RAW_WRITEABLE:
            return writeable(wsi: wsi)
        case LWS_CALLBACK_RAW_CLOSE:
            let graceful = closeRequestSnapshot() != nil
            finishConnection(error: graceful ? nil : LineSocketError(
                code: .connectionDropped, message: "connection closed by peer", endpoint: endpoint))
            releaseUserData(wsi: wsi)
        default:
            break
        }
        return 0
    }

    /// Splits plaintext into lines and yields them; over-long lines end the connection.
    private func deliver(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        var lines: [[UInt8]] = []
        do {
            try splitter.feed(bytes, into: &lines)
            for line in lines { continuation.yield(line) }
            return 0
        } catch {
            for line in lines { continuation.yield(line) }
            failed = true
            finishConnection(error: LineSocketError(
                code: .lineTooLong, message: "line longer than \(error.maxLineLength) bytes", endpoint: endpoint))
            return -1
        }
    }

    private func failTLS(_ message: String) -> Int32 {
        failed = true
        finishConnection(error: LineSocketError(code: .tlsFailure, message: message, endpoint: endpoint))
        return -1
    }

    /// Moves ciphertext the TLS session produced into the send buffer and asks for a write.
    private func queueCiphertext(wsi: OpaquePointer) {
        guard let tls else { return }
        let produced = tls.takeCiphertext()
        guard !produced.isEmpty else { return }
        if cipherOffset > 0 {
            cipherOut.removeFirst(cipherOffset)
            cipherOffset = 0
        }
        cipherOut.append(contentsOf: produced)
        lws_callback_on_writable(wsi)
    }

    /// Writes at most one chunk of `bytes` from `offset`; returns the count written or nil on failure.
    private func writeChunk(wsi: OpaquePointer, _ bytes: [UInt8], from offset: Int) -> Int? {
        let core = loop.core
        let count = min(LoopCore.writeChunk, bytes.count - offset)
        guard count > 0 else { return 0 }
        let payload = core.writeBuffer + core.pre
        bytes.withUnsafeBufferPointer { payload.update(from: $0.baseAddress! + offset, count: count) }
        return pb_lws_write(wsi, payload, count, pb_lws_write_raw_protocol()) < count ? nil : count
    }

    private func writeable(wsi: OpaquePointer) -> Int32 {
        if let tls {
            if cipherOffset == cipherOut.count, tls.handshakeDone, let head = peekOutgoing() {
                do {
                    try tls.writePlaintext(head.bytes)
                } catch {
                    return failTLS(error.message)
                }
                _ = popOutgoing()
                cipherOut = tls.takeCiphertext()
                cipherOffset = 0
            }
            if cipherOffset < cipherOut.count {
                guard let written = writeChunk(wsi: wsi, cipherOut, from: cipherOffset) else { return -1 }
                cipherOffset += written
                if cipherOffset < cipherOut.count || peekOutgoing() != nil || closeRequestSnapshot() != nil {
                    lws_callback_on_writable(wsi)
                }
                return 0
            }
            return closeRequestSnapshot() != nil && peekOutgoing() == nil ? -1 : 0
        }
        if let head = peekOutgoing() {
            guard let written = writeChunk(wsi: wsi, head.bytes, from: writeOffset) else { return -1 }
            var more = true
            if writeOffset + written == head.bytes.count {
                writeOffset = 0
                more = popOutgoing()
            } else {
                writeOffset += written
            }
            if more || closeRequestSnapshot() != nil { lws_callback_on_writable(wsi) }
            return 0
        }
        return closeRequestSnapshot() != nil ? -1 : 0
    }
}
