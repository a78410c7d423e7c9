import Logging
import Synchronization

/// One channel's events waiting for the router, and whether a worker is draining them. A worker runs only while
/// its channel has events in hand and ends when they are done, so a bridge that has seen 10,000 channels does not
/// keep 10,000 parked tasks (each holding on to its async stack) for channels that went quiet.
final class ChannelMailbox: Sendable {
    private struct State {
        var events: [PlatformEvent] = []
        var running = false
    }

    private let state = Mutex(State())
    /// Replies streaming at once in this channel; outlives the workers.
    let slots: ReplySlots
    /// The channel's logger, made once (setting metadata renders it, too dear for every event).
    let logger: Logger

    init(slots: ReplySlots, logger: Logger) {
        self.slots = slots
        self.logger = logger
    }

    /// No events waiting and no worker running.
    var isIdle: Bool { state.withLock { !$0.running && $0.events.isEmpty } }

    /// Adds events in order; true when no worker is running, so the caller must start one.
    func post(_ events: [PlatformEvent]) -> Bool {
        state.withLock { s in
            s.events.append(contentsOf: events)
            if s.running { return false }
            s.running = true
            return true
        }
    }

    /// Everything waiting, oldest first; nil when nothing is, and then the calling worker must end.
    func take() -> [PlatformEvent]? {
        state.withLock { s in
            if s.events.isEmpty {
                s.running = false
                return nil
            }
            var taken: [PlatformEvent] = []
            swap(&taken, &s.events)
            return taken
        }
    }
}
