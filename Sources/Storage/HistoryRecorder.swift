import Foundation
import Logging
import Synchronization

/// Group commit for recorded chatter: messages are buffered and written with one `insert(contentsOf:)`
/// (one transaction) per batch, flushed when `maxBatch` messages are waiting or `maxDelay` after the first. A
/// writer that fell behind takes everything waiting, up to `maxTransaction`, into its next transaction.
///
/// Only history goes through here. Claims, reply rows and settings go straight to the store, so a flood
/// never queues them behind more than the one chatter batch being written (at most one batch is in flight).
/// A process crash loses at most the buffered chatter that was never committed; an ack passed to
/// `record(_:then:)` runs only after its message is committed, so a platform position (Matrix `next_batch`,
/// the Discord catch-up mark) never moves past history that is not on disk.
public final class HistoryRecorder: Sendable {
    /// Batch limits.
    public struct Configuration: Sendable {
        /// Messages waiting that start a write at once, without waiting out `maxDelay`.
        public var maxBatch: Int
        /// How long the first buffered message waits for company before its batch is written.
        public var maxDelay: Duration
        /// Messages buffered (waiting plus being written) before `record` suspends its caller.
        public var capacity: Int
        /// Messages one transaction takes at most: more than `maxBatch` wait only while the writer is behind (a
        /// flood), and then fewer, larger commits write the same rows for less (each commit rewrites the pages
        /// every channel's index ends on; 512-message transactions took about 7 % more of the writer's CPU per
        /// row than ones of 2,048).
        public var maxTransaction: Int

        /// Written at 512 messages or after 5 ms, whichever comes first, up to 2,048 per transaction when the
        /// writer is behind; callers wait beyond 4,096 buffered messages.
        public init(maxBatch: Int = 512, maxDelay: Duration = .milliseconds(5), capacity: Int = 4_096,
                    maxTransaction: Int? = nil) {
            self.maxBatch = max(1, maxBatch)
            self.maxDelay = maxDelay
            self.capacity = max(self.maxBatch, capacity)
            self.maxTransaction = min(self.capacity, max(self.maxBatch, maxTransaction ?? 4 * self.maxBatch))
        }
    }

    /// An acknowledgement to run once its message is committed.
    public typealias Ack = @Sendable () async -> Void

    private struct State {
        var pending: PendingBatches
        /// Acks in recording order, each to run once `settled` reaches `after`.
        var acks: [(after: UInt64, ack: Ack)] = []
        var inFlight = 0
        /// Messages handed to `record` so far, and how many of them are settled (committed or given up).
        var recorded: UInt64 = 0
        var settled: UInt64 = 0
        var flusherRunning = false
        var runningAcks = false
        /// A `flush()` caller is waiting: write without lingering.
        var urgent = false
        var wake: CheckedContinuation<Void, Never>?
        var roomWaiters: [CheckedContinuation<Void, Never>] = []
        var settledWaiters: [(through: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
        var highWater = 0
        var batches = 0
        var dropped = 0
    }

    private let store: any Store
    private let configuration: Configuration
    private let clock: any Clock<Duration>
    private let logger: Logger
    private let state: Mutex<State>

    /// Creates a recorder writing into `store`; `clock` times the batch delay.
    public init(store: any Store, configuration: Configuration = Configuration(),
                clock: any Clock<Duration> = ContinuousClock(), logger: Logger) {
        self.store = store
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        let pending = PendingBatches(maxBatch: configuration.maxTransaction, reserving: configuration.maxBatch)
        state = Mutex(State(pending: pending))
    }

    /// Messages buffered right now (waiting plus being written); never above `capacity` for long.
    public var depth: Int { state.withLock { $0.pending.count + $0.inFlight } }

    /// The largest `depth` seen so far.
    public var highWaterMark: Int { state.withLock { $0.highWater } }

    /// Batches written so far.
    public var batchesWritten: Int { state.withLock { $0.batches } }

    /// Messages given up on after the store kept failing (each one logged).
    public var droppedCount: Int { state.withLock { $0.dropped } }

    /// Buffers a message for the next batch and returns; waits only while `capacity` messages are
    /// already buffered (backpressure). `ack` runs once the message is committed, in recording order.
    public func record(_ message: StoredMessage, then ack: Ack? = nil) async {
        while true {
            if admit(message, then: ack) { break }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.pending.count + s.inFlight < configuration.capacity { return true }
                    s.roomWaiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
        startFlusherIfNeeded(wakeIfFull: true)
    }

    /// Buffers a message for the next batch when there is room, without waiting (a flood's chatter then costs no
    /// suspension point); false when `capacity` messages are buffered, and `record` must wait for room.
    public func recordIfRoom(_ message: StoredMessage) -> Bool {
        guard admit(message, then: nil) else { return false }
        startFlusherIfNeeded(wakeIfFull: true)
        return true
    }

    private func admit(_ message: StoredMessage, then ack: Ack?) -> Bool {
        state.withLock { s -> Bool in
            guard s.pending.count + s.inFlight < configuration.capacity else { return false }
            s.pending.append(message)
            s.recorded += 1
            if let ack { s.acks.append((s.recorded, ack)) }
            s.highWater = max(s.highWater, s.pending.count + s.inFlight)
            return true
        }
    }

    /// Runs `ack` once every message recorded so far is committed: at once when nothing is buffered,
    /// otherwise from the writer after that batch, in order with the acks passed to `record(_:then:)`.
    public func whenCommitted(_ ack: @escaping Ack) async {
        let now = state.withLock { s -> Bool in
            if s.settled >= s.recorded && s.acks.isEmpty && !s.runningAcks { return true }
            s.acks.append((s.recorded, ack))
            return false
        }
        if now { await ack() }
    }

    /// Waits until every message recorded before this call is committed (or given up on), writing
    /// the buffer at once instead of waiting out the batch delay. Call it before reading history.
    public func flush() async {
        let target: UInt64? = state.withLock { s in
            if s.settled >= s.recorded { return nil }
            s.urgent = true
            return s.recorded
        }
        guard let target else { return }
        startFlusherIfNeeded(wakeIfFull: false)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.settled >= target { return true }
                s.settledWaiters.append((target, continuation))
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    private func startFlusherIfNeeded(wakeIfFull: Bool) {
        let (start, wake) = state.withLock { s -> (Bool, CheckedContinuation<Void, Never>?) in
            var wake: CheckedContinuation<Void, Never>?
            if s.urgent || (wakeIfFull && s.pending.count >= configuration.maxBatch) {
                wake = s.wake
                s.wake = nil
            }
            if s.flusherRunning || s.pending.isEmpty { return (false, wake) }
            s.flusherRunning = true
            return (true, wake)
        }
        wake?.resume()
        if start {
            // Unstructured on purpose: the flusher outlives the `record` call that started it and ends
            // by itself once the buffer is empty, so nothing has to run or stop it as a service.
            Task { await self.drain() }
        }
    }

    /// Writes batches until the buffer is empty.
    private func drain() async {
        while true {
            await lingerIfNeeded()
            let batch = state.withLock { s -> [StoredMessage]? in
                if s.pending.isEmpty {
                    s.flusherRunning = false
                    s.urgent = false
                    return nil
                }
                let batch = s.pending.takeBatch()
                s.inFlight = batch.count
                return batch
            }
            guard let batch else { return }
            let committed = await write(batch)
            let room = state.withLock { s in
                s.inFlight = 0
                s.settled += UInt64(batch.count)
                s.batches += committed ? 1 : 0
                s.dropped += committed ? 0 : batch.count
                let room = s.roomWaiters
                s.roomWaiters.removeAll()
                return room
            }
            for waiter in room { waiter.resume() }
            await runDueAcks(committed: committed)
            let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                let settled = s.settled
                let ready = s.settledWaiters.filter { $0.through <= settled }.map(\.continuation)
                s.settledWaiters.removeAll { $0.through <= settled }
                if s.settledWaiters.isEmpty { s.urgent = false }
                return ready
            }
            for waiter in ready { waiter.resume() }
        }
    }

    /// Runs the acks whose messages are settled, in order, including any added while they run.
    private func runDueAcks(committed: Bool) async {
        while true {
            let due = state.withLock { s -> [Ack] in
                let settled = s.settled
                let due = s.acks.prefix { $0.after <= settled }
                s.acks.removeFirst(due.count)
                s.runningAcks = !due.isEmpty
                return due.map(\.ack)
            }
            if due.isEmpty { return }
            // A lost batch acknowledges nothing: the platform position stays before it.
            if committed { for ack in due { await ack() } }
        }
    }

    /// Waits up to `maxDelay` for a batch to fill, unless it is full already or someone is flushing.
    private func lingerIfNeeded() async {
        let full = state.withLock { s in s.urgent || s.pending.count >= configuration.maxBatch }
        if full || configuration.maxDelay <= .zero { return }
        let clock = self.clock
        let delay = configuration.maxDelay
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await clock.sleep(for: delay) }
            group.addTask { await self.waitForWake() }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForWake() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.urgent || s.pending.count >= configuration.maxBatch || Task.isCancelled { return true }
                    s.wake = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let parked = state.withLock { s in
                defer { s.wake = nil }
                return s.wake
            }
            parked?.resume()
        }
    }

    /// One transaction for the batch; retried twice, then the batch is logged and given up on.
    private func write(_ messages: [StoredMessage]) async -> Bool {
        for attempt in 1...3 {
            do {
                try await store.insert(contentsOf: messages)
                return true
            } catch {
                if let storageError = error as? StorageError, storageError.code == .closed { break }
                logger.warning("history batch write failed", metadata: [
                    "messages": "\(messages.count)", "attempt": "\(attempt)", "error": "\(error)",
                ])
                try? await clock.sleep(for: .milliseconds(50 * attempt))
            }
        }
        logger.error("history batch lost: the store kept failing", metadata: [
            "messages": "\(messages.count)", "first": "\(messages.first?.messageID ?? "")",
        ])
        return false
    }
}
