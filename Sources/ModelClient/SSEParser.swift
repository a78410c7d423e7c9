/// One dispatched server-sent event.
public struct SSEEvent: Hashable, Sendable {
    /// The `event:` type, `"message"` when none was given.
    public var type: String
    /// The `data:` lines joined with LF.
    public var data: String
    /// The last event ID in force when this event was dispatched.
    public var lastEventID: String

    /// Creates an event.
    public init(type: String = "message", data: String, lastEventID: String = "") {
        self.type = type
        self.data = data
        self.lastEventID = lastEventID
    }
}

/// Why an SSE stream was cut off: a line or an event grew past the parser's cap.
public struct SSEOverflow: Error, Hashable, Sendable, CustomStringConvertible {
    /// Which cap.
    public enum Code: String, Hashable, Sendable {
        /// One line exceeded `SSEParser.maximumLineBytes`.
        case lineTooLong
        /// One event's data exceeded `SSEParser.maximumEventBytes`.
        case eventTooLarge
    }

    /// Which cap.
    public let code: Code
    /// The cap in bytes.
    public let limit: Int

    /// For logs and error messages.
    public var description: String { "SSEOverflow(\(code.rawValue)): more than \(limit) bytes" }
}

/// A WHATWG `text/event-stream` parser: a pure state machine fed arbitrary byte chunks.
///
/// Handles CR, LF and CRLF line ends (a CR ending one chunk and an LF starting the next count
/// as one line end), multi-line `data:`, comments, `event:`, `id:` (ignored when it contains NUL),
/// `retry:` (digits only) and a leading UTF-8 BOM. At end of input an unterminated event is
/// discarded, as the standard requires.
public struct SSEParser: Sendable {
    /// Longest line kept (1 MiB); a longer one ends the stream with `SSEOverflow.lineTooLong`.
    public static let maximumLineBytes = 1 << 20
    /// Largest event data kept (4 MiB); more ends the stream with `SSEOverflow.eventTooLarge`.
    public static let maximumEventBytes = 4 << 20

    /// Set once a cap was exceeded; from then on input is ignored, and the caller ends the stream with it.
    public private(set) var overflow: SSEOverflow?

    private static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
    private static let lf: UInt8 = 0x0A
    private static let cr: UInt8 = 0x0D
    private static let colon: UInt8 = 0x3A
    private static let space: UInt8 = 0x20

    /// BOM bytes matched so far; -1 once the stream start has been decided.
    private var bomMatched = 0
    /// The last byte consumed was a CR, so a leading LF in the next bytes is part of that line end.
    private var afterCR = false
    private var line: [UInt8] = []
    private var dataBuffer: [UInt8] = []
    private var hasData = false
    private var eventType: String = ""
    /// The last event ID buffer (persists across events).
    public private(set) var lastEventID: String = ""
    /// The reconnection time from the last valid `retry:` field, in milliseconds.
    public private(set) var retryMilliseconds: Int?
    /// Comment lines seen so far (keep-alives such as `: OPENROUTER PROCESSING`).
    public private(set) var commentCount = 0

    /// Creates a parser at the start of a stream.
    public init() {}

    /// Consumes bytes and returns the events they completed, in order.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [SSEEvent] {
        var events: [SSEEvent] = []
        feed(bytes, into: &events)
        return events
    }

    /// Consumes bytes, appending completed events to `events`.
    public mutating func feed(_ bytes: some Sequence<UInt8>, into events: inout [SSEEvent]) {
        guard overflow == nil else { return }
        let handled: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            feedBuffer(buffer, into: &events)
        }
        if handled == nil {
            let array = Array(bytes)
            array.withUnsafeBufferPointer { feedBuffer($0, into: &events) }
        }
    }

    /// Signals end of input. A pending, unterminated event is discarded per the standard;
    /// returns whether any such partial input was dropped.
    @discardableResult
    public mutating func finish() -> Bool {
        let dropped = !line.isEmpty || hasData || (bomMatched > 0)
        line.removeAll()
        dataBuffer.removeAll()
        hasData = false
        eventType = ""
        afterCR = false
        bomMatched = -1
        return dropped
    }

    private mutating func feedBuffer(_ buffer: UnsafeBufferPointer<UInt8>, into events: inout [SSEEvent]) {
        var index = 0
        let count = buffer.count
        if bomMatched >= 0 {
            while index < count, bomMatched < 3, buffer[index] == Self.bom[bomMatched] {
                bomMatched += 1
                index += 1
            }
            if bomMatched == 3 {
                bomMatched = -1
            } else if index < count {
                // Not a BOM after all: the held bytes are ordinary input.
                let held = Array(Self.bom[0..<bomMatched])
                bomMatched = -1
                held.withUnsafeBufferPointer { consume($0, from: 0, into: &events) }
            } else {
                return  // chunk ended inside a possible BOM
            }
        }
        consume(buffer, from: index, into: &events)
    }

    private mutating func consume(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int, into events: inout [SSEEvent]) {
        var index = start
        let count = buffer.count
        if afterCR, index < count {
            afterCR = false
            if buffer[index] == Self.lf { index += 1 }
        }
        var lineStart = index
        while index < count {
            if overflow != nil { return }
            let byte = buffer[index]
            if byte == Self.lf || byte == Self.cr {
                if line.isEmpty {
                    processLine(UnsafeBufferPointer(rebasing: buffer[lineStart..<index]), into: &events)
                } else {
                    line.append(contentsOf: buffer[lineStart..<index])
                    let completed = line
                    line.removeAll(keepingCapacity: true)
                    completed.withUnsafeBufferPointer { processLine($0, into: &events) }
                }
                index += 1
                if byte == Self.cr {
                    if index < count {
                        if buffer[index] == Self.lf { index += 1 }
                    } else {
                        afterCR = true
                    }
                }
                lineStart = index
            } else {
                index += 1
                if index - lineStart + line.count > Self.maximumLineBytes {
                    cutOff(SSEOverflow(code: .lineTooLong, limit: Self.maximumLineBytes))
                    return
                }
            }
        }
        if lineStart < count { line.append(contentsOf: buffer[lineStart..<count]) }
    }

    /// Drops everything held and stops parsing: memory stays bounded whatever the server sends.
    private mutating func cutOff(_ reason: SSEOverflow) {
        overflow = reason
        line = []
        dataBuffer = []
        hasData = false
        eventType = ""
    }

    private mutating func processLine(_ bytes: UnsafeBufferPointer<UInt8>, into events: inout [SSEEvent]) {
        if bytes.isEmpty {
            dispatch(into: &events)
            return
        }
        if bytes[0] == Self.colon {
            commentCount += 1
            return
        }
        var nameEnd = bytes.count
        var valueStart = bytes.count
        if let colonIndex = bytes.firstIndex(of: Self.colon) {
            nameEnd = colonIndex
            valueStart = colonIndex + 1
            if valueStart < bytes.count, bytes[valueStart] == Self.space { valueStart += 1 }
        }
        let name = UnsafeBufferPointer(rebasing: bytes[0..<nameEnd])
        let value = UnsafeBufferPointer(rebasing: bytes[valueStart..<bytes.count])
        if Self.equals(name, "data") {
            if dataBuffer.count + value.count + 1 > Self.maximumEventBytes {
                cutOff(SSEOverflow(code: .eventTooLarge, limit: Self.maximumEventBytes))
                return
            }
            if hasData { dataBuffer.append(Self.lf) }
            dataBuffer.append(contentsOf: value)
            hasData = true
        } else if Self.equals(name, "event") {
            eventType = String(decoding: value, as: UTF8.self)
        } else if Self.equals(name, "id") {
            if !value.contains(0) { lastEventID = String(decoding: value, as: UTF8.self) }
        } else if Self.equals(name, "retry") {
            if !value.isEmpty, value.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), value.count < 16 {
                retryMilliseconds = Int(String(decoding: value, as: UTF8.self))
            }
        }
        // Any other field is ignored, as the standard says.
    }

    private mutating func dispatch(into events: inout [SSEEvent]) {
        // An event without any data line is not dispatched; its type buffer is reset.
        guard hasData else {
            eventType = ""
            return
        }
        let data = String(decoding: dataBuffer, as: UTF8.self)
        events.append(SSEEvent(type: eventType.isEmpty ? "message" : eventType, data: data, lastEventID: lastEventID))
        dataBuffer.removeAll(keepingCapacity: true)
        hasData = false
        eventType = ""
    }

    private static func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ name: StaticString) -> Bool {
        guard bytes.count == name.utf8CodeUnitCount else { return false }
        let pointer = name.utf8Start
        for offset in 0..<bytes.count where bytes[offset] != pointer[offset] { return false }
        return true
    }
}
