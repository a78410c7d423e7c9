/// A response whose status and headers have arrived; the body streams after.
public struct HTTPResponse: Sendable {
    /// The final status code (interim 1xx and followed redirects are skipped).
    public let status: Int
    /// The final header block's fields.
    public let headers: HTTPHeaders
    /// The body, streamed in chunks.
    public let body: HTTPResponseBody

    /// Creates a response; useful for fakes built on `HTTPResponseBody(chunks:)`.
    public init(status: Int, headers: HTTPHeaders, body: HTTPResponseBody) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// The response body as an `AsyncSequence` of byte chunks, with backpressure.
///
/// The transfer pauses while the consumer is behind and resumes as it reads.
/// Cancelling the consuming task, or dropping the body and its iterators, aborts the transfer.
public struct HTTPResponseBody: AsyncSequence, Sendable {
    /// One chunk of body bytes as received.
    public typealias Element = [UInt8]

    enum Source: Sendable {
        case stream(BodyStream)
        case fixed([[UInt8]])
    }

    let source: Source

    init(stream: BodyStream) { source = .stream(stream) }

    /// A body that yields `chunks` and ends; for tests and fakes.
    public init(chunks: [[UInt8]]) { source = .fixed(chunks) }

    /// Iterates the body's chunks; ends at the end of the body, throws `HTTPClientError` on failure.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let source: Source
        var fixedIndex = 0

        /// The next chunk, or nil at the end of the body.
        public mutating func next() async throws -> [UInt8]? {
            switch source {
            case .fixed(let chunks):
                guard fixedIndex < chunks.count else { return nil }
                defer { fixedIndex += 1 }
                return chunks[fixedIndex]
            case .stream(let stream):
                let transfer = stream.transfer
                return try await withTaskCancellationHandler {
                    try await transfer.nextChunk()
                } onCancel: {
                    transfer.cancel(code: .cancelled, message: "the task consuming the body was cancelled")
                }
            }
        }
    }

    /// Makes an iterator; one consumer per body.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: source) }
}

extension HTTPResponseBody {
    /// Reads the whole body; throws `.bodyTooLarge` (and aborts the transfer) past `maxBytes`.
    public func collect(upTo maxBytes: Int) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await chunk in self {
            if bytes.count + chunk.count > maxBytes {
                var url: String?
                if case .stream(let stream) = source {
                    url = stream.transfer.url
                    stream.transfer.cancel(code: .bodyTooLarge, message: "response body exceeds \(maxBytes) bytes")
                }
                throw HTTPClientError(
                    code: .bodyTooLarge, message: "response body exceeds the cap of \(maxBytes) bytes", url: url)
            }
            bytes.append(contentsOf: chunk)
        }
        return bytes
    }
}

/// Ties a transfer's lifetime to its body: when the last body copy or iterator goes, the transfer is aborted.
final class BodyStream: Sendable {
    let transfer: Transfer

    init(transfer: Transfer) { self.transfer = transfer }

    deinit {
        transfer.cancel(code: .cancelled, message: "the response body was dropped before it ended")
    }
}
