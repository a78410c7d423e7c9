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
        let producer = produce(20_000, into: inbox)
        var expected: UInt32 = 0
        while let message = try await inbox.next() {
            #expect(message == .binary(numbered(expected)))
            expected += 1
        }
        #expect(expected == 20_000)
        await producer.value
    }
}

/// A reader of whole batches gets every queued message at once, in order, and its emptied buffer is reused for the
/// messages after them; the end and errors come as for a reader of single messages.
@Suite struct WebSocketInboxBatchTests {
    struct Boom: Error, Equatable {}

    static func contents(_ frames: WebSocketFrames) -> [WebSocketMessage] {
        (0..<frames.count).map { frames.message($0) }
    }

    @Test func aBatchHoldsEveryQueuedMessageInOrderWithItsKind() async throws {
        let inbox = WebSocketInbox()
        inbox.yield(.binary([1, 2, 3]))
        inbox.yield(.text("héllo"))
        inbox.yield(.binary([]))
        inbox.yield(.text(""))
        var frames = WebSocketFrames()
        #expect(try await inbox.next(&frames))
        #expect(Self.contents(frames) == [.binary([1, 2, 3]), .text("héllo"), .binary([]), .text("")])
        #expect((0..<frames.count).map { frames.isBinary($0) } == [true, false, true, false])
        #expect(frames.withFrame(1) { Array($0) } == Array("héllo".utf8))
        #expect(frames.byteCount == 3 + "héllo".utf8.count)
        #expect(!inbox.hasMessages)
    }

    @Test func theNextBatchHasOnlyWhatCameAfterAndReusesTheBuffer() async throws {
        let inbox = WebSocketInbox()
        var frames = WebSocketFrames()
        var buffers: Set<UnsafeRawPointer> = []
        for round in 0..<50 {
            for index in 0..<20 { inbox.yield(.binary([UInt8(round), UInt8(index)])) }
            #expect(try await inbox.next(&frames))
            #expect(Self.contents(frames) == (0..<20).map { .binary([UInt8(round), UInt8($0)]) })
            if round > 0, let base = frames.withFrame(0, { $0.baseAddress }) { buffers.insert(UnsafeRawPointer(base)) }
        }
        // Two buffers take turns (the reader's and the inbox's): none is made per batch.
        #expect(buffers.count <= 2)
    }

    @Test func messagesTakenOneAtATimeAreNotInTheBatch() async throws {
        let inbox = WebSocketInbox()
        for index in 0..<5 { inbox.yield(.binary([UInt8(index)])) }
        #expect(try await inbox.next() == .binary([0]))
        #expect(try await inbox.next() == .binary([1]))
        var frames = WebSocketFrames()
        #expect(try await inbox.next(&frames))
        #expect(Self.contents(frames) == [.binary([2]), .binary([3]), .binary([4])])
    }

    @Test func theErrorComesOnceAfterTheLastBatchThenTheEnd() async throws {
        let inbox = WebSocketInbox()
        inbox.yield(.text("last words"))
        inbox.finish(throwing: Boom())
        inbox.yield(.text("too late"))
        var frames = WebSocketFrames()
        #expect(try await inbox.next(&frames))
        #expect(Self.contents(frames) == [.text("last words")])
        await #expect(throws: Boom.self) { try await inbox.next(&frames) }
        #expect(try await inbox.next(&frames) == false)
        #expect(frames.isEmpty)
    }

    @Test func aWaitingBatchReaderWakesForAMessageAndACancelledOneGetsTheEnd() async throws {
        let inbox = WebSocketInbox()
        let reader = Task { () -> [WebSocketMessage]? in
            var frames = WebSocketFrames()
            guard try await inbox.next(&frames) else { return nil }
            return Self.contents(frames)
        }
        try await Task.sleep(for: .milliseconds(20))
        inbox.yield(.text("hello"))
        #expect(try await reader.value == [.text("hello")])
        let cancelled = Task { () -> Bool in
            var frames = WebSocketFrames()
            return try await inbox.next(&frames)
        }
        try await Task.sleep(for: .milliseconds(20))
        cancelled.cancel()
        #expect(try await cancelled.value == false)
    }

    @Test func manyMessagesFromAnotherThreadArriveCompleteInBatches() async throws {
        let inbox = WebSocketInbox()
        let producer = produce(50_000, into: inbox)
        var expected: UInt32 = 0
        var frames = WebSocketFrames()
        while try await inbox.next(&frames) {
            for index in 0..<frames.count {
                #expect(frames.isBinary(index) && frames.withFrame(index) { Array($0) } == numbered(expected))
                expected += 1
            }
        }
        #expect(expected == 50_000)
        await producer.value
    }

    @Test func aSingleMessageReaderThatNeverCatchesUpDoesNotKeepWhatItTook() async throws {
        let inbox = WebSocketInbox()
        var next: UInt32 = 0
        for _ in 0..<2_000 {
            inbox.yield(.binary(numbered(next)))
            next += 1
        }
        var expected: UInt32 = 0
        for _ in 0..<20_000 {
            // One more arrives for each one taken: the queue never drains.
            inbox.yield(.binary(numbered(next)))
            next += 1
            #expect(try await inbox.next() == .binary(numbered(expected)))
            expected += 1
        }
        #expect(inbox.queuedBytes <= 4 * 4_100)
    }

    @Test func anEmptiedBufferGrownByABurstIsLetGo() {
        var frames = WebSocketFrames()
        let large = [UInt8](repeating: 7, count: WebSocketFrames.keptCapacity + 1)
        large.withUnsafeBytes { frames.append($0, binary: true) }
        frames.removeAll()
        #expect(frames.bytesCapacity == 0)
        [UInt8](repeating: 7, count: 1_000).withUnsafeBytes { frames.append($0, binary: true) }
        let kept = frames.bytesCapacity
        frames.removeAll()
        #expect(frames.bytesCapacity == kept)
        #expect(frames.isEmpty)
    }
}

/// The producer tests' message number `index`: its four bytes.
private func numbered(_ index: UInt32) -> [UInt8] {
    withUnsafeBytes(of: index.littleEndian) { Array($0) }
}

/// Queues `count` numbered binary messages from another thread, then ends the inbox.
private func produce(_ count: Int, into inbox: WebSocketInbox) -> Task<Void, Never> {
    Task.detached {
        for index in 0..<count { inbox.yield(.binary(numbered(UInt32(index)))) }
        inbox.finish()
    }
}
