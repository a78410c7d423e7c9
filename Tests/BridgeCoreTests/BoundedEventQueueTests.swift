@testable import BridgeCore
import Testing

@Suite struct BoundedEventQueueTests {
    /// A producer far ahead of a batch consumer: everything arrives once, in order, and the queue never holds more
    /// than its capacity.
    @Test func batchesKeepOrderAndTheBound() async {
        let queue = BoundedEventQueue<Int>(capacity: 8)
        let count = 10_000
        async let produced: Void = {
            for value in 0..<count { await queue.send(value) }
            queue.finish()
        }()
        var received: [Int] = []
        var largest = 0
        for await batch in queue.batches(max: 5) {
            #expect(!batch.isEmpty && batch.count <= 5)
            largest = max(largest, batch.count)
            received += batch
        }
        await produced
        #expect(received == Array(0..<count))
        #expect(queue.highWaterMark <= queue.capacity)
        #expect(largest > 1, "a consumer that is behind takes several at a time")
    }

    /// A waiting producer is woken once half the capacity is free, and a finish wakes it for good.
    @Test func aWaitingProducerResumesAtHalfCapacity() async {
        let queue = BoundedEventQueue<Int>(capacity: 4)
        for value in 0..<4 { await queue.send(value) }
        let blocked = Task { await queue.send(4) }
        var iterator = queue.makeAsyncIterator()
        #expect(await iterator.next() == 0)
        #expect(await iterator.next() == 1)
        // Down to half: the producer's element arrives after the ones before it.
        #expect(await blocked.value)
        #expect(await queue.nextBatch(max: 10) == [2, 3, 4])
        queue.finish()
        #expect(await queue.nextBatch(max: 10) == nil)
    }

    /// Parks a batch consumer and waits until it is parked.
    static func parkedConsumer(_ queue: BoundedEventQueue<Int>) async throws -> Task<[Int]?, Never> {
        let consumer = Task { await queue.nextBatch(max: 100) }
        let deadline = ContinuousClock.now + .seconds(30)
        while !queue.hasWaitingConsumer {
            guard ContinuousClock.now < deadline else { throw QueueTestError() }
            try await Task.sleep(for: .milliseconds(1))
        }
        return consumer
    }

    /// Held back, elements queue beside a waiting consumer; `wake()` hands it the whole run in order.
    @Test func heldElementsWaitForWake() async throws {
        let queue = BoundedEventQueue<Int>(capacity: 256)
        let consumer = try await Self.parkedConsumer(queue)
        for value in 0..<10 { await queue.sendHoldingWake(value) }
        #expect(queue.hasWaitingConsumer, "held back: the consumer still waits")
        #expect(queue.count == 10)
        queue.wake()
        #expect(await consumer.value == Array(0..<10))
        queue.wake()
        #expect(queue.count == 0, "a wake with nothing queued changes nothing")
    }

    /// The queue wakes the consumer itself at `wakeAt` held elements, so a producer that never calls `wake()` is late
    /// by at most that many.
    @Test func heldElementsWakeTheConsumerAtWakeAt() async throws {
        let queue = BoundedEventQueue<Int>(capacity: 8)
        #expect(queue.wakeAt == 4)
        let consumer = try await Self.parkedConsumer(queue)
        for value in 0..<3 { await queue.sendHoldingWake(value) }
        #expect(queue.hasWaitingConsumer)
        await queue.sendHoldingWake(3)
        #expect(await consumer.value == [0, 1, 2, 3])
    }

    /// A plain send after held-back elements wakes the consumer with the oldest: order holds across both.
    @Test func aPlainSendAfterHeldElementsKeepsTheOrder() async throws {
        let queue = BoundedEventQueue<Int>(capacity: 256)
        let consumer = try await Self.parkedConsumer(queue)
        await queue.sendHoldingWake(0)
        await queue.sendHoldingWake(1)
        await queue.send(2)
        #expect(await consumer.value == [0, 1, 2])
    }

    /// Finishing while elements are held back delivers them before the end.
    @Test func finishDeliversHeldElements() async throws {
        let queue = BoundedEventQueue<Int>(capacity: 256)
        let consumer = try await Self.parkedConsumer(queue)
        await queue.sendHoldingWake(0)
        await queue.sendHoldingWake(1)
        queue.finish()
        #expect(await consumer.value == [0, 1])
        #expect(await queue.nextBatch(max: 10) == nil)
    }
}

struct QueueTestError: Error {}
