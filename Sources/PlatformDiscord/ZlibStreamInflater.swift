internal import CZlib

/// Inflates Discord's `compress=zlib-stream` gateway frames; one instance per connection.
///
/// Not Sendable: the owning connection feeds it from one task.
public final class ZlibStreamInflater {
    private var stream = z_stream()
    private var pending: [UInt8] = []
    private var broken = false
    /// Largest amount of buffered compressed or inflated data for one flush.
    public let maxPayloadBytes: Int

    /// Creates a fresh inflate context.
    public init(maxPayloadBytes: Int = 16 << 20) throws(ZlibStreamError) {
        self.maxPayloadBytes = maxPayloadBytes
        let status = pb_inflate_init(&stream)
        guard status == Z_OK else {
            throw ZlibStreamError(code: .initFailed, zlibStatus: status, message: "inflateInit failed")
        }
    }

    deinit { inflateEnd(&stream) }

    /// Feeds one binary frame; returns the inflated bytes once the buffered data ends with `00 00 ff ff`, else nil.
    public func feed(_ frame: [UInt8]) throws(ZlibStreamError) -> [UInt8]? {
        guard !broken else {
            throw ZlibStreamError(code: .corruptStream, message: "stream already failed; reconnect")
        }
        pending.append(contentsOf: frame)
        guard pending.count <= maxPayloadBytes else {
            broken = true
            throw ZlibStreamError(code: .tooLarge, message: "compressed payload exceeds \(maxPayloadBytes) bytes")
        }
        guard pending.count >= 4, pending[pending.count - 4] == 0, pending[pending.count - 3] == 0,
            pending[pending.count - 2] == 0xFF, pending[pending.count - 1] == 0xFF
        else { return nil }
        defer { pending.removeAll(keepingCapacity: true) }
        return try inflatePending()
    }

    private func inflatePending() throws(ZlibStreamError) -> [UInt8] {
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let inputCount = pending.count
        var failure: ZlibStreamError?
        pending.withUnsafeMutableBufferPointer { input in
            stream.next_in = input.baseAddress
            stream.avail_in = uInt(inputCount)
            repeat {
                let status = chunk.withUnsafeMutableBufferPointer { out -> Int32 in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(out.count)
                    return inflate(&stream, Z_SYNC_FLUSH)
                }
                let produced = chunk.count - Int(stream.avail_out)
                // Z_BUF_ERROR only means no progress was possible, i.e. all input is consumed.
                if status != Z_OK && status != Z_BUF_ERROR && status != Z_STREAM_END {
                    failure = ZlibStreamError(
                        code: .corruptStream, zlibStatus: status,
                        message: "inflate failed: " + (stream.msg.map { String(cString: $0) } ?? "unknown"))
                    break
                }
                output.append(contentsOf: chunk[0..<produced])
                if output.count > maxPayloadBytes {
                    failure = ZlibStreamError(code: .tooLarge, message: "inflated payload exceeds \(maxPayloadBytes) bytes")
                    break
                }
                if status == Z_STREAM_END || (status == Z_BUF_ERROR && produced == 0) { break }
            } while stream.avail_in > 0 || stream.avail_out == 0
            stream.next_in = nil
            stream.avail_in = 0
        }
        if let failure {
            broken = true
            throw failure
        }
        return output
    }
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
        input.withUnsafeMutableBufferPointer { inBuf in
            stream.next_in = inBuf.baseAddress
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
