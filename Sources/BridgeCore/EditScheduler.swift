/// Identifies one edited message (one part of one reply) inside an `EditScheduler`.
public struct EditStreamID: Hashable, Sendable, CustomStringConvertible {
    /// Raw value, unique per scheduler.
    public let rawValue: Int
    /// Creates an id.
    public init(_ rawValue: Int) { self.rawValue = rawValue }
    /// The raw value, for logs.
    public var description: String { "edit-\(rawValue)" }
}

/// Decides when each message in one channel is edited, so all replies there share the adapter's edit budget.
///
/// A pure state machine: time comes in as elapsed `Duration`s and every mutating method returns actions.
/// Rules: never more edits than the budget allows; one edit per message in flight (so edits cannot land out
/// of order); finals first; an edit carries all text received when it goes out; the final edit carries the
/// exact final text.
///
/// With a token bucket an edit goes out as soon as a token is free. With a fixed window (Discord) bursting
/// would cost a whole window, so non-final edits are paced: the window's remaining slots are spread over the
/// time left in it, and one slot per live stream (plus one for the next reply's first message) is kept for
/// the final texts. A final goes out at once when a slot is free, else when the window resets.
public struct EditScheduler: Sendable {
    /// What the runner must do.
    public enum Action: Hashable, Sendable {
        /// Edit the stream's message to `text`, then report `editCompleted`.
        case edit(EditStreamID, text: String, isFinal: Bool)
        /// Call `tick` at this elapsed time.
        case wake(at: Duration)
        /// The stream's final text is on the platform (or could not be put there); it is forgotten.
        case finished(EditStreamID, delivered: Bool)
    }

    private struct Stream: Sendable {
        var pending: String?
        var onPlatform: String
        var inFlight: String?
        var finalText: String?
        var failures = 0
    }

    /// Edits allowed per stream before a failing final is given up.
    public static let maxFailures = 3

    private var budget: EditBudget
    private var tokens: Int
    private var lastRefill: Duration
    private var pausedUntil: Duration?
    private var seenPauseGeneration: Int
    private var streams: [EditStreamID: Stream] = [:]
    private var queue: [EditStreamID] = []
    private var wakeAt: Duration?
    private var window: WindowState?
    /// When the last paced (non-final) edit went out in window mode.
    private var lastPaced: Duration?
    /// Replies triggered in the channel whose first message is not out yet.
    private var pendingFirstMessages = 0

    private struct WindowState: Sendable {
        var limit: Int
        var length: Duration
        var remaining: Int
        /// Nil until a request opens the window.
        var resetAt: Duration?
        /// Whether `remaining` came from the platform (which already counts requests it has sent).
        var authoritative: Bool
    }

    /// Creates a scheduler with a full bucket.
    public init(budget: EditBudget, now: Duration) {
        self.budget = budget
        self.tokens = budget.burst
        self.lastRefill = now
        self.seenPauseGeneration = budget.pauseGeneration
        if let pause = budget.pause { pausedUntil = now + pause }
        applyWindow(budget.window, now: now)
    }

    /// Edits available right now (for tests and status).
    public var availableTokens: Int { window.map(\.remaining) ?? tokens }
    /// Streams not yet finished.
    public var activeStreams: Int { streams.count }

    /// How many replies in the channel still have to send their first message: each needs a slot for it and one
    /// for its final, so progress edits leave those too.
    public mutating func setPendingFirstMessages(_ count: Int, now: Duration) -> [Action] {
        pendingFirstMessages = max(0, count)
        return pump(now: now)
    }

    /// Starts tracking a message that was just sent with `text`.
    public mutating func open(_ id: EditStreamID, sentText text: String) {
        streams[id] = Stream(onPlatform: text)
    }

    /// Applies the adapter's latest budget.
    public mutating func updateBudget(_ newBudget: EditBudget, now: Duration) -> [Action] {
        refill(now: now)
        if newBudget.pauseGeneration != seenPauseGeneration {
            seenPauseGeneration = newBudget.pauseGeneration
            if let pause = newBudget.pause {
                let until = max(pausedUntil ?? now, now + pause)
                pausedUntil = until
                tokens = 0
                lastRefill = until
            }
        }
        budget = newBudget
        tokens = min(tokens, budget.burst)
        applyWindow(newBudget.window, now: now)
        return pump(now: now)
    }

    private mutating func applyWindow(_ new: FixedWindow?, now: Duration) {
        guard let new else {
            window = nil
            return
        }
        var state = window ?? WindowState(limit: new.limit, length: new.length, remaining: new.limit, resetAt: nil, authoritative: false)
        state.limit = new.limit
        state.length = new.length
        if let remaining = new.remaining {
            state.remaining = min(remaining, new.limit)
            state.resetAt = new.resetAfter.map { now + $0 }
            state.authoritative = true
        } else {
            state.remaining = min(state.remaining, new.limit)
        }
        window = state
    }

    /// New text (everything so far) for a stream.
    public mutating func submit(_ id: EditStreamID, text: String, now: Duration) -> [Action] {
        guard var stream = streams[id], stream.finalText == nil else { return [] }
        if text == (stream.inFlight ?? stream.onPlatform) {
            stream.pending = nil
            dequeue(id)
        } else {
            stream.pending = text
            if !queue.contains(id) { queue.append(id) }
        }
        streams[id] = stream
        return pump(now: now)
    }

    /// The exact final text of a stream; `finished` follows once it is on the platform.
    public mutating func finish(_ id: EditStreamID, text: String, now: Duration) -> [Action] {
        // Unknown (already finished) streams answer at once, so nobody waits forever.
        guard var stream = streams[id] else { return [.finished(id, delivered: false)] }
        guard stream.finalText == nil else { return [] }
        stream.finalText = text
        dequeue(id)
        if text == (stream.inFlight ?? stream.onPlatform) {
            stream.pending = nil
        } else {
            stream.pending = text
            queue.insert(id, at: finalsEnd())
        }
        streams[id] = stream
        if stream.inFlight == nil, stream.pending == nil {
            streams[id] = nil
            return [.finished(id, delivered: true)] + pump(now: now)
        }
        return pump(now: now)
    }

    /// The runner's report that an issued edit completed or failed.
    public mutating func editCompleted(_ id: EditStreamID, succeeded: Bool, now: Duration) -> [Action] {
        guard var stream = streams[id], let sent = stream.inFlight else { return pump(now: now) }
        stream.inFlight = nil
        var actions: [Action] = []
        if succeeded {
            stream.onPlatform = sent
        } else {
            stream.failures += 1
            if stream.pending == nil, stream.failures < Self.maxFailures {
                stream.pending = sent
                if !queue.contains(id) { queue.insert(id, at: stream.finalText != nil ? finalsEnd() : queue.count) }
            }
        }
        if let final = stream.finalText, stream.pending == nil {
            streams[id] = nil
            dequeue(id)
            actions.append(.finished(id, delivered: stream.onPlatform == final))
        } else if stream.failures >= Self.maxFailures, stream.finalText != nil {
            streams[id] = nil
            dequeue(id)
            actions.append(.finished(id, delivered: false))
        } else {
            streams[id] = stream
        }
        return actions + pump(now: now)
    }

    /// Time has passed; issue what the budget now allows.
    public mutating func tick(now: Duration) -> [Action] {
        // The driver ticks when its one wake fires and then holds none, even if this machine had since moved its
        // own wake later (set while the driver's was already due): forget it, so pump asks for it again.
        wakeAt = nil
        return pump(now: now)
    }

    private func finalsEnd() -> Int {
        queue.firstIndex { streams[$0]?.finalText == nil } ?? queue.count
    }

    private mutating func dequeue(_ id: EditStreamID) {
        queue.removeAll { $0 == id }
    }

    private mutating func refill(now: Duration) {
        if let until = pausedUntil {
            guard now >= until else { return }
            // The platform said when to retry: one edit is allowed then, the rest refill as usual.
            pausedUntil = nil
            lastRefill = until
            tokens = max(tokens, 1)
        }
        guard now > lastRefill else { return }
        if tokens >= budget.burst {
            lastRefill = now
            return
        }
        let gained = Int((now - lastRefill).nanoseconds / max(1, budget.interval.nanoseconds))
        guard gained > 0 else { return }
        tokens = min(budget.burst, tokens + gained)
        lastRefill = tokens >= budget.burst ? now : lastRefill + budget.interval * gained
    }

    private mutating func pump(now: Duration) -> [Action] {
        if window != nil { return pumpWindow(now: now) }
        refill(now: now)
        var actions: [Action] = []
        if pausedUntil == nil {
            var index = 0
            while index < queue.count, tokens > 0 {
                let id = queue[index]
                guard var stream = streams[id], let text = stream.pending else {
                    queue.remove(at: index)
                    continue
                }
                if stream.inFlight != nil {
                    index += 1
                    continue
                }
                tokens -= 1
                stream.inFlight = text
                stream.pending = nil
                streams[id] = stream
                queue.remove(at: index)
                actions.append(.edit(id, text: text, isFinal: stream.finalText == text))
            }
        }
        let waiting = queue.contains { streams[$0]?.inFlight == nil && streams[$0]?.pending != nil }
        if waiting, tokens == 0 || pausedUntil != nil {
            let next = pausedUntil ?? (lastRefill + budget.interval)
            if wakeAt == nil || next < wakeAt! {
                wakeAt = next
                actions.append(.wake(at: next))
            }
        }
        return actions
    }
}

extension EditScheduler {
    /// Slots the window has for this scheduler now: the platform's count less edits still in flight (which it
    /// may already have counted; counting them twice only delays an edit until they complete).
    private func windowAvailable(_ state: WindowState) -> Int {
        guard state.authoritative else { return state.remaining }
        return state.remaining - streams.values.filter { $0.inFlight != nil }.count
    }

    /// Slots non-final edits must leave: one per live stream for its final, and for replies still to start their
    /// first message and final (at least one first message, for the next trigger).
    private var windowReserve: Int {
        let live = streams.values.filter { $0.finalText == nil }.count
        guard let state = window, live > 0 else { return 0 }
        return min(live + max(1, 2 * pendingFirstMessages), state.limit - 1)
    }

    /// When the next non-final edit may go out: the slots left for them spread evenly over the rest of the window.
    private func pacedAt(_ state: WindowState, usable: Int, now: Duration) -> Duration {
        guard let last = lastPaced, usable > 0 else { return now }
        if let reset = state.resetAt {
            return last + (reset - last) / (usable + 1)
        }
        // No window open: the next request opens a full one, so space by its length.
        return last + state.length / usable
    }

    private mutating func pumpWindow(now: Duration) -> [Action] {
        if var state = window, let reset = state.resetAt, now >= reset {
            state.remaining = state.limit
            state.resetAt = nil
            window = state
        }
        if let until = pausedUntil {
            if now >= until {
                pausedUntil = nil
            } else {
                return scheduleWake(at: until, now: now)
            }
        }
        var actions: [Action] = []
        var blockedUntil: Duration?
        var index = 0
        while index < queue.count, var state = window {
            let id = queue[index]
            guard var stream = streams[id], let text = stream.pending else {
                queue.remove(at: index)
                continue
            }
            if stream.inFlight != nil {
                index += 1
                continue
            }
            let isFinal = stream.finalText == text
            let available = windowAvailable(state)
            if isFinal {
                guard available >= 1 else {
                    if let reset = state.resetAt { blockedUntil = min(blockedUntil ?? reset, reset) }
                    index += 1
                    continue
                }
            } else {
                let usable = available - windowReserve
                guard usable >= 1 else {
                    if let reset = state.resetAt { blockedUntil = min(blockedUntil ?? reset, reset) }
                    index += 1
                    continue
                }
                let at = pacedAt(state, usable: usable, now: now)
                guard now >= at else {
                    blockedUntil = min(blockedUntil ?? at, at)
                    index += 1
                    continue
                }
                lastPaced = now
            }
            state.remaining -= 1
            if state.resetAt == nil { state.resetAt = now + state.length }
            window = state
            stream.inFlight = text
            stream.pending = nil
            streams[id] = stream
            queue.remove(at: index)
            actions.append(.edit(id, text: text, isFinal: isFinal))
        }
        if let blockedUntil { actions += scheduleWake(at: max(blockedUntil, now), now: now) }
        return actions
    }

    private mutating func scheduleWake(at next: Duration, now: Duration) -> [Action] {
        if let current = wakeAt, current > now, current <= next { return [] }
        wakeAt = next
        return [.wake(at: next)]
    }
}

extension Duration {
    /// Whole nanoseconds, for integer bucket arithmetic.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
