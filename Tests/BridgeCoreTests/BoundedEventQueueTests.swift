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
}
