internal import CWebSockets

/// The raw role of an lws client connection: bytes out, lines in.
final class LineSocketConnection: LWSConnection, @unchecked Sendable {
    // Safe to share: see LWSConnection; `splitter` is service-thread only, `continuation` is thread-safe.
    let continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation
    private var splitter: LineSplitter
    private var failed = false

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
            markEstablished(wsi: wsi)
        case LWS_CALLBACK_RAW_RX:
            guard !failed, let input, length > 0 else { return 0 }
            var lines: [[UInt8]] = []
            do {
                try splitter.feed(UnsafeRawBufferPointer(start: input, count: length), into: &lines)
                for line in lines { continuation.yield(line) }
            } catch {
                for line in lines { continuation.yield(line) }
                failed = true
                finishConnection(error: LineSocketError(
                    code: .lineTooLong, message: "line longer than \(error.maxLineLength) bytes", endpoint: endpoint))
                return -1
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

    private func writeable(wsi: OpaquePointer) -> Int32 {
        let core = loop.core
        if let head = peekOutgoing() {
            let start = writeOffset
            let count = min(LoopCore.writeChunk, head.bytes.count - start)
            let payload = core.writeBuffer + core.pre
            head.bytes.withUnsafeBufferPointer { source in
                if count > 0 { payload.update(from: source.baseAddress! + start, count: count) }
            }
            if count > 0, pb_lws_write(wsi, payload, count, pb_lws_write_raw_protocol()) < count { return -1 }
            var more = true
            if start + count == head.bytes.count {
                writeOffset = 0
                more = popOutgoing()
            } else {
                writeOffset = start + count
            }
            if more || closeRequestSnapshot() != nil { lws_callback_on_writable(wsi) }
            return 0
        }
        return closeRequestSnapshot() != nil ? -1 : 0
    }
}
