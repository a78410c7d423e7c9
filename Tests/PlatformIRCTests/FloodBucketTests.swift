import Testing
@testable import PlatformIRC

/// A simulated instant: only differences matter to the bucket.
struct SimInstant: InstantProtocol {
    var offset: Duration
    func advanced(by duration: Duration) -> SimInstant { SimInstant(offset: offset + duration) }
    func duration(to other: SimInstant) -> Duration { other.offset - offset }
    static func < (a: SimInstant, b: SimInstant) -> Bool { a.offset < b.offset }
}

@Suite struct FloodBucketTests {
    let t0 = SimInstant(offset: .zero)

    @Test func burstThenSteadyRate() {
        var bucket = FloodBucket<SimInstant>(burst: 3, interval: .seconds(2))
        #expect(bucket.take(now: t0) == nil)
        #expect(bucket.take(now: t0) == nil)
        #expect(bucket.take(now: t0) == nil)
        #expect(bucket.take(now: t0) == .seconds(2))
        #expect(bucket.take(now: t0.advanced(by: .seconds(1))) == .seconds(1))
        #expect(bucket.take(now: t0.advanced(by: .seconds(2))) == nil)
        #expect(bucket.take(now: t0.advanced(by: .seconds(2))) == .seconds(2))
        // After a long idle the full burst is back.
        let later = t0.advanced(by: .seconds(100))
        #expect(bucket.take(now: later) == nil)
        #expect(bucket.take(now: later) == nil)
        #expect(bucket.take(now: later) == nil)
        #expect(bucket.take(now: later) != nil)
    }

    @Test func roundRobinNeverStarvesAndPacesLines() throws {
        var queue = OutgoingQueue<String, SimInstant>(capacityPerChannel: 50, bucket: FloodBucket(burst: 2, interval: .seconds(1)))
        try queue.enqueue((1...40).map { "a\($0)" }, for: "#chatty")
        try queue.enqueue(["b1", "b2"], for: "#quiet")
        var now = t0
        var sent: [(String, SimInstant)] = []
        var steps = 0
        while !queue.isEmpty, steps < 1_000 {
            steps += 1
            switch queue.next(now: now) {
            case .send(_, let line): sent.append((line, now))
            case .wait(let d): now = now.advanced(by: d)
            case .idle: break
            }
        }
        #expect(sent.count == 42)
        #expect(Array(sent.prefix(4).map(\.0)) == ["a1", "b1", "a2", "b2"])
        #expect(sent.filter { $0.0.hasPrefix("a") }.map(\.0) == (1...40).map { "a\($0)" })
        // Burst of 2 at t0, then one line per second: the 42nd line leaves at t0 + 40 s.
        #expect(sent.last?.1 == t0.advanced(by: .seconds(40)))
        if case .idle = queue.next(now: now) {} else { Issue.record("expected idle") }
    }

    @Test func fullQueueRejectsWholeBatch() throws {
        var queue = OutgoingQueue<Int, SimInstant>(capacityPerChannel: 3)
        try queue.enqueue([1, 2], for: "#c")
        let error = #expect(throws: OutgoingQueueError.self) { try queue.enqueue([3, 4], for: "#c") }
        #expect(error?.code == .queueFull)
        #expect(error?.queued == 2)
        #expect(queue.count(for: "#c") == 2)
        try queue.enqueue([3], for: "#c")
        #expect(queue.count(for: "#c") == 3)
    }
}
