import Testing

@testable import SocketTransport

/// The inbox between the event-loop thread and a websocket's reader keeps the stream's contract: order, the end
/// after the last message, an error thrown once, nothing after the end, nil for a cancelled reader.
@Suite struct WebSocketInboxTests {
    struct Boom: Error, Equatable {}

    @Test func messagesComeInOrderThenTheEndAfterTheLastOne() async throws {
        let inbox = WebSocketInbox()
        for index in 0..<3_000 { inbox.yield(.binary([UInt8(index % 256)])) }
        inbox.finish()
        for index in 0..<3_000 {
            #expect(try await inbox.next() == .binary([UInt8(index % 256)]))
        }
        #expect(try await inbox.next() == nil)
        #expect(try await inbox.next() == nil)
    }

    @Test func anErrorIsThrownOnceAfterWhatWasQueuedAndLaterMessagesAreDropped() async throws {
        let inbox = WebSocketInbox()
        inbox.yield(.text("last words"))
        inbox.finish(throwing: Boom())
        inbox.yield(.text("too late"))
        inbox.finish()
        #expect(try await inbox.next() == .text("last words"))
        await #expect(throws: Boom.self) { try await inbox.next() }
        #expect(try await inbox.next() == nil)
    }

    @Test func aWaitingReaderGetsTheNextMessageAndTheEnd() async throws {
        let inbox = WebSocketInbox()
        let first = Task { try await inbox.next() }
        // The reader parks first, most of the time; either way it gets the message.
        try await Task.sleep(for: .milliseconds(20))
        inbox.yield(.text("hello"))
        #expect(try await first.value == .text("hello"))
        let second = Task { try await inbox.next() }
        try await Task.sleep(for: .milliseconds(20))
        inbox.finish(throwing: Boom())
        await #expect(throws: Boom.self) { try await second.value }
    }

    @Test func aCancelledReaderGetsNilAndLaterMessagesAreDropped() async throws {
        let inbox = WebSocketInbox()
        let reader = Task { try await inbox.next() }
        try await Task.sleep(for: .milliseconds(20))
        reader.cancel()
        #expect(try await reader.value == nil)
        inbox.yield(.text("after"))
        #expect(try await inbox.next() == nil)
    }

    @Test func manyMessagesFromAnotherThreadArriveComplete() async throws {
        let inbox = WebSocketInbox()
        let producer = Task.detached {
            for index in 0..<20_000 { inbox.yield(.binary(withUnsafeBytes(of: UInt32(index).littleEndian) { Array($0) })) }
            inbox.finish()
        }
        var expected: UInt32 = 0
        while let message = try await inbox.next() {
            guard case .binary(let bytes) = message else { Issue.record("not binary"); break }
            #expect(bytes == withUnsafeBytes(of: expected.littleEndian) { Array($0) })
            expected += 1
        }
        #expect(expected == 20_000)
        await producer.value
    }
}
