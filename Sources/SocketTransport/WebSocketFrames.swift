/// Received messages laid end to end in one byte buffer: what `WebSocketMessages.AsyncIterator.next(_:)` hands a
/// reader that takes everything queued at once.
///
/// The socket's thread appends each message's bytes to the buffer the reader is not using, and the reader swaps its
/// emptied buffer for the filled one: a flood of small messages then costs no allocation per message, and nothing
/// allocated on one thread is freed on the other.
public struct WebSocketFrames: Sendable {
    struct Frame: Sendable {
        var start: Int
        var count: Int
        var binary: Bool
    }

    /// A buffer of at most this capacity is kept for reuse when emptied; a larger one (grown by a burst or one large
    /// message) is let go, so an idle connection does not hold its largest burst.
    static let keptCapacity = 256 << 10

    private(set) var bytes: [UInt8] = []
    private(set) var frames: [Frame] = []

    /// An empty set of frames.
    public init() {}

    /// Messages held.
    public var count: Int { frames.count }

    /// Whether no message is held.
    public var isEmpty: Bool { frames.isEmpty }

    /// Bytes of all the messages held.
    var byteCount: Int { bytes.count }

    /// Room in the byte buffer (tests).
    var bytesCapacity: Int { bytes.capacity }

    /// Whether message `index` is binary (else it is text, validated as UTF-8).
    public func isBinary(_ index: Int) -> Bool { frames[index].binary }

    /// Lends message `index`'s bytes to `body`; they must not escape it.
    public func withFrame<Result>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        let frame = frames[index]
        return try bytes.withUnsafeBufferPointer { all in
            try body(UnsafeBufferPointer(rebasing: all[frame.start..<frame.start + frame.count]))
        }
    }

    /// Message `index` as a `WebSocketMessage` (a copy of its bytes).
    public func message(_ index: Int) -> WebSocketMessage {
        withFrame(index) { bytes in
            frames[index].binary ? .binary(Array(bytes)) : .text(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// Appends one message's bytes.
    mutating func append(_ message: UnsafeRawBufferPointer, binary: Bool) {
        frames.append(Frame(start: bytes.count, count: message.count, binary: binary))
        bytes.append(contentsOf: message)
    }

    /// Moves messages `from...` of `other` to the end of these (the reader took the ones before one at a time).
    mutating func append(_ other: WebSocketFrames, from first: Int) {
        guard first < other.frames.count else { return }
        let base = other.frames[first].start
        let shift = bytes.count - base
        bytes.append(contentsOf: other.bytes[base...])
        for frame in other.frames[first...] {
            frames.append(Frame(start: frame.start + shift, count: frame.count, binary: frame.binary))
        }
    }

    /// Drops the first `count` messages.
    mutating func removeFirst(_ count: Int) {
        guard count < frames.count else { return removeAll() }
        let start = frames[count].start
        bytes.removeFirst(start)
        frames.removeFirst(count)
        for index in frames.indices { frames[index].start -= start }
    }

    /// Empties the buffer, keeping its capacity unless it grew past `keptCapacity`.
    public mutating func removeAll() {
        if bytes.capacity > Self.keptCapacity || frames.capacity > Self.keptCapacity / 64 {
            bytes = []
            frames = []
        } else {
            bytes.removeAll(keepingCapacity: true)
            frames.removeAll(keepingCapacity: true)
        }
    }
}
