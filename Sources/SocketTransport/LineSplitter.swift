/// Splits a byte stream into CR LF or LF terminated lines, as raw bytes without the terminator.
///
/// Pure state machine: feed it whatever a read returned; never decodes text.
public struct LineSplitter: Sendable {
    /// The largest line accepted, terminator excluded.
    public let maxLineLength: Int
    private var partial: [UInt8] = []

    /// A line exceeded `maxLineLength`.
    public struct LineTooLong: Error, Sendable, Equatable {
        /// The limit that was exceeded.
        public let maxLineLength: Int
    }

    /// Creates a splitter with a line length bound.
    public init(maxLineLength: Int = 64 * 1024) {
        self.maxLineLength = maxLineLength
    }

    /// Bytes of an unfinished line held back.
    public var bufferedCount: Int { partial.count }

    /// Appends to `lines` every line `bytes` complete; lines before an over-long one are kept there.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, into lines: inout [[UInt8]]) throws(LineTooLong) {
        var start = 0
        let count = bytes.count
        while start < count {
            guard let newline = bytes[start...].firstIndex(of: 0x0A) else {
                partial.append(contentsOf: bytes[start...])
                // +1: a CR may still be waiting for its LF.
                if partial.count > maxLineLength + 1 { throw LineTooLong(maxLineLength: maxLineLength) }
                return
            }
            var line = partial
            partial = []
            line.append(contentsOf: bytes[start..<newline])
            if line.last == 0x0D { line.removeLast() }
            if line.count > maxLineLength { throw LineTooLong(maxLineLength: maxLineLength) }
            lines.append(line)
            start = newline + 1
        }
    }

    /// Consumes `bytes` and returns every line they complete.
    public mutating func feed(_ bytes: [UInt8]) throws(LineTooLong) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var copy = self
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(LineTooLong) in try copy.feed(buffer, into: &lines) }
        }
        self = copy
        try result.get()
        return lines
    }
}
