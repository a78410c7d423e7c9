import BridgeConfig
import BridgeCore
import Logging
import ModelClient
import Synchronization

/// Measurements for `pb-bench core`: context assembly time and token-to-edit latency.
public enum CoreBenchmarks {
    /// Latency percentiles.
    public struct Percentiles: Hashable, Sendable {
        /// Samples measured.
        public var samples: Int
        /// Median.
        public var p50: Duration
        /// 99th percentile.
        public var p99: Duration
        /// Worst.
        public var max: Duration
    }

    /// Times `ContextAssembler.assemble` over a channel with `storedMessages` messages (first prompt and steady state).
    public static func contextAssembly(storedMessages: Int = 10_000, iterations: Int = 50) -> Percentiles {
        let persona = Persona(name: "aria", displayName: "Aria", character: "You are Aria.")
        let channel = ChannelRef(platform: "bench", channelID: "c")
        let history = (0..<storedMessages).map { i in
            HistoryEntry(sequence: Int64(i), speaker: .human(id: "u\(i % 5)", name: "User\(i % 5)"),
                         text: "Message \(i): the warp core hums, the coffee is cold, and the captain wants a report.")
        }
        let assembler = ContextAssembler()
        var anchor: Int64?
        let clock = ContinuousClock()
        var samples: [Duration] = []
        for _ in 0..<iterations {
            let start = clock.now
            let context = assembler.assemble(persona: persona, channel: channel, history: history, anchor: anchor)
            samples.append(start.duration(to: clock.now))
            anchor = context.anchor
        }
        return percentiles(samples)
    }

    /// Streams `streams` concurrent replies of `tokens` tokens each (one token per `pace`) into separate channels of
    /// a platform with ample edit budget, and measures the time from a token's arrival to the edit carrying it.
    public static func editLatency(streams: Int = 100, tokens: Int = 50, pace: Duration = .milliseconds(2)) async -> Percentiles {
        let platform = LatencyPlatform()
        let clock = ContinuousClock()
        let samples = await withTaskGroup(of: [Duration].self) { group in
            for index in 0..<streams {
                group.addTask {
                    let channel = ChannelRef(platform: "bench", channelID: "c\(index)")
                    let scheduler = ChannelEditScheduler(channel: channel, budgets: platform.editBudgets, clock: clock,
                                                         logger: Logger(label: "bench")) { ref, text in
                        try await platform.edit(ref, text: text)
                    }
                    let engine = ReplyEngine(platform: platform, scheduler: scheduler, logger: Logger(label: "bench"))
                    let arrivals = Mutex([Int: ContinuousClock.Instant]())
                    let (stream, continuation) = AsyncThrowingStream.makeStream(of: ModelEvent.self)
                    let producer = Task {
                        var length = 0
                        for t in 0..<tokens {
                            let piece = "tok\(t) "
                            length += piece.count
                            let now = clock.now
                            arrivals.withLock { $0[length] = now }
                            continuation.yield(.delta(piece))
                            try? await Task.sleep(for: pace)
                        }
                        continuation.yield(.finish(.stop))
                        continuation.finish()
                    }
                    let outcome = await engine.run(stream, in: channel, replyTo: nil, as: nil)
                    await producer.value
                    let edits = platform.edits(for: outcome.messages.first?.messageID ?? "")
                    return arrivals.withLock { arrivals in
                        edits.compactMap { edit in arrivals[edit.length].map { $0.duration(to: edit.at) } }
                    }
                }
            }
            var all: [Duration] = []
            for await part in group { all += part }
            return all
        }
        return percentiles(samples)
    }

    static func percentiles(_ samples: [Duration]) -> Percentiles {
        let sorted = samples.sorted()
        guard !sorted.isEmpty else { return Percentiles(samples: 0, p50: .zero, p99: .zero, max: .zero) }
        func at(_ q: Double) -> Duration { sorted[Swift.min(sorted.count - 1, Int(Double(sorted.count - 1) * q))] }
        return Percentiles(samples: sorted.count, p50: at(0.5), p99: at(0.99), max: sorted.last!)
    }
}

/// A platform that only timestamps edits.
private final class LatencyPlatform: ChatPlatform, Sendable {
    struct Edit { var length: Int; var at: ContinuousClock.Instant }
    let platformName = "bench"
    let capabilities = PlatformCapabilities(canEdit: true, maxLength: 100_000)
    let editBudgets = EditBudgetBoard(fallback: EditBudget(burst: 1_000_000, interval: .nanoseconds(1)))
    let events: BoundedEventQueue<PlatformEvent> = {
        let queue = BoundedEventQueue<PlatformEvent>(capacity: 1)
        queue.finish()   // the benchmark drives the reply engine directly: no incoming events
        return queue
    }()
    private let state = Mutex((next: 0, edits: [String: [Edit]]()))

    func run() async throws {}

    func send(_ text: String, in channel: ChannelRef, replyTo: String?, as identity: PersonaIdentity?) async throws -> SentMessageRef {
        let id = state.withLock { s in
            s.next += 1
            return "m\(s.next)"
        }
        return SentMessageRef(channel: channel, messageID: id)
    }

    func edit(_ message: SentMessageRef, text: String) async throws {
        let now = ContinuousClock.now
        state.withLock { $0.edits[message.messageID, default: []].append(Edit(length: text.count, at: now)) }
    }

    func typing(in channel: ChannelRef) async {}

    func isModerator(_ user: ChatUser, in channel: ChannelRef) async -> Bool { false }

    func edits(for id: String) -> [Edit] { state.withLock { $0.edits[id] ?? [] } }
}
