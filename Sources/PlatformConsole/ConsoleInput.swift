import Foundation

/// Where the console reads lines from.
public struct ConsoleInput: Sendable {
    private let start: @Sendable (AsyncStream<String>.Continuation) -> Void

    /// Lines from standard input, read on a dedicated thread so the cooperative pool never blocks.
    public static let standardInput = ConsoleInput { continuation in
        let thread = Thread {
            while let line = readLine(strippingNewline: true) {
                if case .terminated = continuation.yield(line) { return }
            }
            continuation.finish()
        }
        thread.name = "persona-bridge.console-input"
        thread.start()
    }

    /// A fixed script of lines, for tests.
    public static func script(_ lines: [String]) -> ConsoleInput {
        ConsoleInput { continuation in
            for line in lines { continuation.yield(line) }
            continuation.finish()
        }
    }

    /// Creates an input from a function that feeds a continuation.
    public init(_ start: @escaping @Sendable (AsyncStream<String>.Continuation) -> Void) {
        self.start = start
    }

    func lines() -> ConsoleLines {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .unbounded)
        start(continuation)
        return ConsoleLines(stream: stream, continuation: continuation)
    }
}

/// Typed lines, stoppable from a shutdown handler.
struct ConsoleLines: AsyncSequence, Sendable {
    typealias Element = String
    let stream: AsyncStream<String>
    let continuation: AsyncStream<String>.Continuation

    func makeAsyncIterator() -> AsyncStream<String>.Iterator { stream.makeAsyncIterator() }

    func stop() { continuation.finish() }
}
