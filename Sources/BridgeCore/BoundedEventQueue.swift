import DequeModule
import Synchronization

/// A bounded queue between an adapter's read loop and the router: `send` waits while `capacity` elements are
/// waiting, so a consumer that falls behind slows the reader instead of growing memory.
///
/// Waiting producers are woken once the queue is down to half its capacity, not at every element taken: a
/// producer that is always ahead then sends in runs of `capacity / 2` instead of switching tasks per element.
///
/// A producer with more at hand (a read loop draining its socket's buffer) can `sendHoldingWake` instead: a consumer
/// waiting for work is then woken once, by `wake()` or by the queue itself at `wakeAt` elements, and takes the run
/// in one batch, instead of being woken for each element while it is faster than the producer.
///
/// Any number of producers, one consumer (iterate from one task). After `finish()` the consumer drains what is
/// queued and then ends; later sends are dropped. A cancelled producer stops waiting and drops its element; a
/// cancelled consumer's `next()` returns nil.
public final class BoundedEventQueue<Element: Sendable>: AsyncSequence, Sendable {
    private struct State {
        var buffer = Deque<Element>()
        var finished = false
        var consumer: CheckedContinuation<Element?, Never>?
        var producers: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextProducer = 0
        var highWater = 0
    }

    /// `delivered` carries the waiting consumer to resume and the element it gets (the oldest queued), if one waited.
    private enum SendStep { case delivered((CheckedContinuation<Element?, Never>, Element)?), dropped, wait }
    private enum NextStep { case element(Element, [CheckedContinuation<Void, Never>]), end, wait }

    /// Most elements waiting before `send` waits.
    public let capacity: Int
    /// Elements held back from a waiting consumer by `sendHoldingWake` before the queue wakes it anyway.
    public let wakeAt: Int
    private let state = Mutex(State())

    /// Creates a queue holding at most `capacity` waiting elements.
    public init(capacity: Int) {
        self.capacity = Swift.max(1, capacity)
        wakeAt = Swift.max(1, Swift.min(64, self.capacity / 2))
    }

    /// Elements waiting now.
    public var count: Int { state.withLock { $0.buffer.count } }

    /// Whether the consumer is parked, waiting for an element (held-back elements may be queued meanwhile).
    var hasWaitingConsumer: Bool { state.withLock { $0.consumer != nil } }

    /// The most elements that were ever waiting at once.
    public var highWaterMark: Int { state.withLock { $0.highWater } }

    /// Queues an element, waiting while the queue is full; returns `false` if it was dropped (finished or cancelled).
    // Pre-specialised for the one element type the adapters send: called from their modules, the generic body
    // would look up the queue's type metadata on every event.
    @_specialize(exported: true, where Element == PlatformEvent)
    @discardableResult
    public func send(_ element: Element) async -> Bool {
        await send(element, holdingWake: false)
    }

    /// Queues an element like `send`, but leaves a consumer that waits for work asleep until `wake()` (or until
    /// `wakeAt` elements wait). Call `wake()` before waiting for anything else, or the consumer waits with you.
    @_specialize(exported: true, where Element == PlatformEvent)
    @discardableResult
    public func sendHoldingWake(_ element: Element) async -> Bool {
        await send(element, holdingWake: true)
    }

    /// Wakes a consumer that waits while elements are queued (held back by `sendHoldingWake`).
    public func wake() {
        let handoff = state.withLock { s -> (CheckedContinuation<Element?, Never>, Element)? in
            guard let consumer = s.consumer, let first = s.buffer.popFirst() else { return nil }
            s.consumer = nil
            return (consumer, first)
        }
        if let (consumer, first) = handoff { consumer.resume(returning: first) }
    }

    private func send(_ element: Element, holdingWake: Bool) async -> Bool {
        while true {
            switch enqueue(element, holdingWake: holdingWake) {
            case .delivered(let handoff):
                if let (consumer, first) = handoff { consumer.resume(returning: first) }
                return true
            case .dropped:
                return false
            case .wait:
                if Task.isCancelled { return false }
                let id = state.withLock { s in
                    s.nextProducer += 1
                    return s.nextProducer
                }
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        let resumeNow = state.withLock { s -> Bool in
                            if s.finished || s.buffer.count < capacity || Task.isCancelled { return true }
                            s.producers[id] = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    state.withLock { s in s.producers.removeValue(forKey: id) }?.resume()
                }
                if Task.isCancelled { return false }
            }
        }
    }

    /// Queues an element without waiting, for a producer that cannot wait (a test's injector); returns `false`,
    /// dropping it, when the queue is full or finished.
    @_specialize(exported: true, where Element == PlatformEvent)
    @discardableResult
    public func offer(_ element: Element) -> Bool {
        guard case .delivered(let handoff) = enqueue(element, holdingWake: false) else { return false }
        if let (consumer, first) = handoff { consumer.resume(returning: first) }
        return true
    }

    /// Hands the oldest element to the waiting consumer (returned, to resume outside the lock) or buffers `element`;
    /// `.wait` when full. Held back from a waiting consumer, the element is buffered until `wakeAt` are.
    private func enqueue(_ element: Element, holdingWake: Bool) -> SendStep {
        state.withLock { s -> SendStep in
            if s.finished { return .dropped }
            if let consumer = s.consumer {
                if holdingWake && s.buffer.count + 1 < wakeAt {
                    s.buffer.append(element)
                    s.highWater = Swift.max(s.highWater, s.buffer.count)
                    return .delivered(nil)
                }
                s.consumer = nil
                // Elements held back wait in the buffer: the consumer gets the oldest, in order.
                guard let first = s.buffer.popFirst() else { return .delivered((consumer, element)) }
                s.buffer.append(element)
                return .delivered((consumer, first))
            }
            guard s.buffer.count < capacity else { return .wait }
            s.buffer.append(element)
            s.highWater = Swift.max(s.highWater, s.buffer.count)
            return .delivered(nil)
        }
    }

    /// Ends the queue: the consumer drains what is queued, then ends; waiting producers give up.
    public func finish() {
        let (consumer, first, producers) = state.withLock { s -> (CheckedContinuation<Element?, Never>?, Element?, [CheckedContinuation<Void, Never>]) in
            s.finished = true
            let consumer = s.consumer
            s.consumer = nil
            defer { s.producers.removeAll() }
            // A consumer waiting beside held-back elements gets them first, then the end.
            return (consumer, consumer == nil ? nil : s.buffer.popFirst(), Array(s.producers.values))
        }
        consumer?.resume(returning: first)
        for producer in producers { producer.resume() }
    }

    fileprivate func next() async -> Element? {
        let step = state.withLock { s -> NextStep in
            if let element = s.buffer.popFirst() { return .element(element, Self.producersToWake(&s, capacity: capacity)) }
            return s.finished ? .end : .wait
        }
        switch step {
        case .element(let element, let producers):
            for producer in producers { producer.resume() }
            return element
        case .end:
            return nil
        case .wait:
            return await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Element?, Never>) in
                    let now = state.withLock { s -> NextStep in
                        if let element = s.buffer.popFirst() {
                            return .element(element, Self.producersToWake(&s, capacity: capacity))
                        }
                        if s.finished || Task.isCancelled { return .end }
                        s.consumer = continuation
                        return .wait
                    }
                    switch now {
                    case .element(let element, let producers):
                        for producer in producers { producer.resume() }
                        continuation.resume(returning: element)
                    case .end:
                        continuation.resume(returning: nil)
                    case .wait:
                        break
                    }
                }
            } onCancel: {
                let consumer = state.withLock { s in
                    defer { s.consumer = nil }
                    return s.consumer
                }
                consumer?.resume(returning: nil)
            }
        }
    }

    /// The waiting producers, oldest first, once the buffer is down to half the capacity (none before).
    private static func producersToWake(_ s: inout State, capacity: Int) -> [CheckedContinuation<Void, Never>] {
        guard !s.producers.isEmpty, s.buffer.count <= capacity / 2 else { return [] }
        let woken = s.producers.sorted { $0.key < $1.key }.map(\.value)
        s.producers.removeAll(keepingCapacity: true)
        return woken
    }

    /// Up to `max` waiting elements in one step, waiting while none is; nil once finished and drained (or cancelled).
    /// Pre-specialised: the router reaches it through generic sequence wrappers (graceful shutdown's).
    @_specialize(where Element == PlatformEvent)
    func nextBatch(max: Int) async -> [Element]? {
        let taken = state.withLock { s -> ([Element], [CheckedContinuation<Void, Never>])? in
            guard !s.buffer.isEmpty else { return nil }
            let count = Swift.min(max, s.buffer.count)
            let batch = Array(s.buffer.prefix(count))
            s.buffer.removeFirst(count)
            return (batch, Self.producersToWake(&s, capacity: capacity))
        }
        if let (batch, producers) = taken {
            for producer in producers { producer.resume() }
            return batch
        }
        // Nothing waiting: take one the ordinary way (it parks), then whatever came with it.
        guard let first = await next() else { return nil }
        let rest = state.withLock { s -> ([Element], [CheckedContinuation<Void, Never>]) in
            let count = Swift.min(max - 1, s.buffer.count)
            let rest = Array(s.buffer.prefix(count))
            s.buffer.removeFirst(count)
            return (rest, Self.producersToWake(&s, capacity: capacity))
        }
        for producer in rest.1 { producer.resume() }
        return [first] + rest.0
    }

    /// The queue as batches of up to `max` elements, in order: one step per batch for a consumer that is behind.
    public func batches(max: Int) -> Batches { Batches(queue: self, max: Swift.max(1, max)) }

    /// Batches of waiting elements; iterate from one task only (and not beside the element iterator).
    public struct Batches: AsyncSequence, Sendable {
        /// Elements in arrival order, several at a time.
        public typealias Element = [BoundedEventQueue.Element]
        let queue: BoundedEventQueue
        let max: Int

        /// Iterates batches.
        public struct AsyncIterator: AsyncIteratorProtocol {
            let queue: BoundedEventQueue
            let max: Int

            /// The next batch, or nil once the queue is finished and drained (or the task is cancelled).
            public mutating func next() async -> [BoundedEventQueue.Element]? {
                await queue.nextBatch(max: max)
            }
        }

        /// Starts iterating.
        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(queue: queue, max: max) }
    }

    /// Iterates the queue from one task.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let queue: BoundedEventQueue<Element>

        /// The next element, or nil once the queue is finished and drained (or the task is cancelled).
        public mutating func next() async -> Element? {
            await queue.next()
        }
    }

    /// Starts iterating; iterate from one task only.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(queue: self)
    }
}
