internal import CZlib

/// Inflates Discord's `compress=zlib-stream` gateway frames; one instance per connection.
///
/// Not Sendable: the owning connection feeds it from one task.
public final class ZlibStreamInflater {
    private var stream = z_stream()
    private var pending: [UInt8] = []
    private var broken = false
    /// The inflated bytes of the payload being handed out, reused from one payload to the next: a flood of small
    /// payloads then costs no allocation each (a fresh array per payload was a malloc and a free too large for the
    /// allocator's per-thread cache, which take its arena lock).
    private var output: UnsafeMutablePointer<UInt8>?
    private(set) var outputCapacity = 0
    /// Largest amount of buffered compressed or inflated data for one flush.
    public let maxPayloadBytes: Int
    /// Output room kept between payloads; a larger payload's room (a READY, a member chunk) is given back after it.
    static let keptOutputBytes = 64 << 10
    /// The stream's two-byte zlib header is read here and the rest inflated as raw deflate data: zlib would otherwise
    /// run an Adler-32 checksum over every inflated byte, which only a stream's end checks, and a gateway
    /// connection's stream never ends.
    private var header: [UInt8] = []

    /// Creates a fresh inflate context.
    public init(maxPayloadBytes: Int = 16 << 20) throws(ZlibStreamError) {
        self.maxPayloadBytes = maxPayloadBytes
        let status = pb_inflate_init_raw(&stream)
        guard status == Z_OK else {
            throw ZlibStreamError(code: .initFailed, zlibStatus: status, message: "inflateInit failed")
        }
    }

    deinit {
        inflateEnd(&stream)
        output?.deallocate()
    }

    /// Feeds one binary frame; returns the inflated bytes once the buffered data ends with `00 00 ff ff`, else nil.
    public func feed(_ frame: [UInt8]) throws(ZlibStreamError) -> [UInt8]? {
        try withPayload(frame) { Array($0) }
    }

    /// Feeds one binary frame and, once the buffered data ends with `00 00 ff ff`, hands the inflated payload to
    /// `body` and returns its result; nil while the payload is incomplete. The bytes are valid only inside `body`.
    public func withPayload<Result>(_ frame: [UInt8], _ body: (UnsafeBufferPointer<UInt8>) -> Result) throws(ZlibStreamError) -> Result? {
        try frame.withUnsafeBufferPointer { (bytes) throws(ZlibStreamError) -> Result? in try withPayload(bytes, body) }
    }

    /// The same for a frame whose bytes the caller lends (a websocket's receive buffer).
    public func withPayload<Result>(_ frame: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Result) throws(ZlibStreamError) -> Result? {
        guard !broken else {
            throw ZlibStreamError(code: .corruptStream, message: "stream already failed; reconnect")
        }
        let produced: Int
        // The usual frame is a whole payload: inflate it where it lies instead of copying it into `pending`.
        if pending.isEmpty, Self.endsWithFlush(frame) {
            guard frame.count <= maxPayloadBytes else {
                broken = true
                throw ZlibStreamError(code: .tooLarge, message: "compressed payload exceeds \(maxPayloadBytes) bytes")
            }
            produced = try inflate(frame)
        } else {
            pending.append(contentsOf: frame)
            guard pending.count <= maxPayloadBytes else {
                broken = true
                throw ZlibStreamError(code: .tooLarge, message: "compressed payload exceeds \(maxPayloadBytes) bytes")
            }
            guard pending.withUnsafeBufferPointer({ Self.endsWithFlush($0) }) else { return nil }
            defer { pending.removeAll(keepingCapacity: true) }
            produced = try pending.withUnsafeBufferPointer { (bytes) throws(ZlibStreamError) -> Int in try inflate(bytes) }
        }
        defer {
            if outputCapacity > Self.keptOutputBytes {
                output?.deallocate()
                output = nil
                outputCapacity = 0
            }
        }
        return body(UnsafeBufferPointer(start: output, count: produced))
    }

    /// RFC 1950: deflate with a window of at most 32 KB, no preset dictionary, and a check that makes the two bytes
    /// a multiple of 31.
    static func isZlibHeader(_ cmf: UInt8, _ flg: UInt8) -> Bool {
        cmf & 0x0F == 8 && cmf >> 4 <= 7 && flg & 0x20 == 0 && (UInt16(cmf) << 8 | UInt16(flg)) % 31 == 0
    }

    private static func endsWithFlush(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = bytes.count
        return n >= 4 && bytes[n - 4] == 0 && bytes[n - 3] == 0 && bytes[n - 2] == 0xFF && bytes[n - 1] == 0xFF
    }

    /// Makes the output room at least `capacity`, keeping the first `keeping` bytes.
    private func reserveOutput(_ capacity: Int, keeping: Int) {
        guard capacity > outputCapacity else { return }
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        if let output {
            if keeping > 0 { grown.update(from: output, count: keeping) }
            output.deallocate()
        }
        output = grown
        outputCapacity = capacity
    }

    /// Inflates one sync-flushed payload into `output` and returns its length. The room starts at a size guess
    /// (gateway JSON inflates to a few times its compressed size) and doubles as needed.
    private func inflate(_ input: UnsafeBufferPointer<UInt8>) throws(ZlibStreamError) -> Int {
        reserveOutput(max(1024, input.count * 8), keeping: 0)
        var produced = 0
        var failure: ZlibStreamError?
        feed: do {
            var start = 0
            if header.count < 2 {
                while header.count < 2, start < input.count {
                    header.append(input[start])
                    start += 1
                }
                if header.count == 2, !Self.isZlibHeader(header[0], header[1]) {
                    failure = ZlibStreamError(code: .corruptStream, message: "not a zlib stream (header \(header))")
                    break feed
                }
            }
            // zlib never writes through next_in; the pointer type is only C's missing const.
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress.map { $0 + start })
            stream.avail_in = uInt(input.count - start)
            while true {
                stream.next_out = output! + produced
                stream.avail_out = uInt(outputCapacity - produced)
                let status = zlibInflate(&stream, Z_SYNC_FLUSH)
                produced = outputCapacity - Int(stream.avail_out)
                // Z_BUF_ERROR only means no progress was possible, i.e. all input is consumed.
                if status != Z_OK && status != Z_BUF_ERROR && status != Z_STREAM_END {
                    failure = ZlibStreamError(
                        code: .corruptStream, zlibStatus: status,
                        message: "inflate failed: " + (stream.msg.map { String(cString: $0) } ?? "unknown"))
                    break
                }
                if produced > maxPayloadBytes {
                    failure = ZlibStreamError(code: .tooLarge, message: "inflated payload exceeds \(maxPayloadBytes) bytes")
                    break
                }
                // Output room left over means zlib took all the input it could.
                if stream.avail_out > 0 { break }
                reserveOutput(outputCapacity * 2, keeping: produced)
            }
            stream.next_in = nil
            stream.avail_in = 0
            stream.next_out = nil
            stream.avail_out = 0
        }
        if let failure {
            broken = true
            throw failure
        }
        return produced
    }
}

/// zlib's `inflate`, under a name the inflater's own `inflate(_:)` does not shadow.
private func zlibInflate(_ stream: UnsafeMutablePointer<z_stream>, _ flush: Int32) -> Int32 {
    inflate(stream, flush)
}

/// Compresses payloads the way Discord's zlib-stream does (sync-flushed); used by the fake server and tests.
public final class ZlibStreamDeflater {
    private var stream = z_stream()

    /// Creates a fresh deflate context.
    public init(level: Int32 = 6) throws(ZlibStreamError) {
        let status = pb_deflate_init(&stream, level)
        guard status == Z_OK else {
            throw ZlibStreamError(code: .initFailed, zlibStatus: status, message: "deflateInit failed")
        }
    }

    deinit { deflateEnd(&stream) }

    /// Compresses one payload and sync-flushes, so the result ends with `00 00 ff ff`.
    public func compress(_ payload: [UInt8]) -> [UInt8] {
        var input = payload
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let count = input.count
        input.withUnsafeMutableBufferPointer { input in
            stream.next_in = input.baseAddress
            stream.avail_in = uInt(count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(out.count)
                    _ = deflate(&stream, Z_SYNC_FLUSH)
                }
                output.append(contentsOf: chunk[0..<(chunk.count - Int(stream.avail_out))])
            } while stream.avail_out == 0
            stream.next_in = nil
        }
        return output
    }
}
