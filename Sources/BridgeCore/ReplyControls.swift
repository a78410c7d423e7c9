import Synchronization

/// Thrown into a reply's stream when a player or moderator stops it; the reply ends with its partial text.
public struct ReplyStopped: Error, Hashable, Sendable, CustomStringConvertible {
    /// Always `stopped`.
    public let code = "stopped"
    /// Who stopped it (platform user id).
    public var by: String

    /// Creates the error.
    public init(by: String) { self.by = by }

    /// For logs.
    public var description: String { "ReplyStopped(\(code)): stopped by \(by)" }
}

/// The router's live view of each channel's replies for the player controls: the streams that `stop` can end,
/// and the platform references of the latest reply, which flips and control updates edit.
final class ReplyControls: Sendable {
    private struct Running {
        var stop: @Sendable (ReplyStopped) -> Void
        var requester: String?
    }

    private struct State {
        var running: [String: [Int: Running]] = [:]
        var next = 0
        /// Latest reply per channel: its id and the references to edit it with (kinds included).
        var latest: [String: (replyID: String, refs: [SentMessageRef])] = [:]
        /// The message showing the channel's controls (buttons), if any.
        var controlled: [String: SentMessageRef] = [:]
        /// Replies per channel whose text is still going out: a model stream can end while its final edit waits for
        /// a slot in the channel's rate-limit window.
        var delivering: [String: Int] = [:]
    }

    private let state = Mutex(State())

    /// Registers a running reply's stream in `channel`; returns the token to pass to `finished`.
    func started(in channel: String, requester: String?, stop: @escaping @Sendable (ReplyStopped) -> Void) -> Int {
        state.withLock { s in
            s.next += 1
            s.running[channel, default: [:]][s.next] = Running(stop: stop, requester: requester)
            return s.next
        }
    }

    /// The reply registered under `token` ended.
    func finished(_ token: Int, in channel: String) {
        state.withLock { s in
            s.running[channel]?[token] = nil
            if s.running[channel]?.isEmpty == true { s.running[channel] = nil }
        }
    }

    /// A reply in `channel` starts sending its text.
    func beginDelivery(in channel: String) {
        state.withLock { s in s.delivering[channel, default: 0] += 1 }
    }

    /// A reply in `channel` has sent its final text (or given up).
    func endDelivery(in channel: String) {
        state.withLock { s in
            let left = (s.delivering[channel] ?? 1) - 1
            s.delivering[channel] = left > 0 ? left : nil
        }
    }

    /// Whether a reply in `channel` is still sending its text.
    func isDelivering(in channel: String) -> Bool {
        state.withLock { s in s.delivering[channel] != nil }
    }

    /// Who asked for the replies running in `channel` (nil entries: no known requester).
    func requesters(in channel: String) -> [String?] {
        state.withLock { s in s.running[channel].map { $0.values.map(\.requester) } ?? [] }
    }

    /// Stops every reply streaming in `channel`; returns how many were stopped.
    func stopAll(in channel: String, by user: String) -> Int {
        let stops = state.withLock { s in
            let running = s.running.removeValue(forKey: channel) ?? [:]
            return running.values.map(\.stop)
        }
        for stop in stops { stop(ReplyStopped(by: user)) }
        return stops.count
    }

    /// Remembers the channel's latest reply and how to edit it.
    func setLatest(_ replyID: String, refs: [SentMessageRef], in channel: String) {
        state.withLock { s in
            // Bounded: very many channels keep references only for the most recent ones.
            if s.latest.count >= 16_384 { s.latest.removeAll(keepingCapacity: true) }
            s.latest[channel] = (replyID, refs)
        }
    }

    /// The references of `replyID` if it is the channel's latest reply this process sent.
    func refs(of replyID: String, in channel: String) -> [SentMessageRef]? {
        state.withLock { s in s.latest[channel].flatMap { $0.replyID == replyID ? $0.refs : nil } }
    }

    /// Records that `message` now shows the channel's controls; returns the message that showed them before.
    func moveControls(to message: SentMessageRef?, in channel: String) -> SentMessageRef? {
        state.withLock { s in
            let before = s.controlled[channel]
            s.controlled[channel] = message
            return before
        }
    }

    /// The references of the channel's latest reply this process sent.
    func latestRefs(in channel: String) -> [SentMessageRef]? {
        state.withLock { s in s.latest[channel]?.refs }
    }

    /// Forgets the channel's latest reply's references when it is `replyID` (regenerated or deleted).
    func forget(_ replyID: String, in channel: String) {
        state.withLock { s in if s.latest[channel]?.replyID == replyID { s.latest[channel] = nil } }
    }
}
