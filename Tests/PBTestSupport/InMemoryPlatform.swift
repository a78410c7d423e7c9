import BridgeCore
import ServiceLifecycle
import Synchronization

/// A platform that lives in memory: tests inject events and read back what the bridge sent and edited.
public final class InMemoryPlatform: ChatPlatform, Sendable {
    /// One outgoing operation, in order.
    public enum Operation: Hashable, Sendable {
        /// A message was sent.
        case send(messageID: String, channel: ChannelRef, text: String, replyTo: String?, identity: PersonaIdentity?)
        /// A message was edited.
        case edit(messageID: String, text: String)
        /// A typing indicator.
        case typing(ChannelRef)
    }

    /// A failure to inject into the next sends or edits.
    public struct InjectedError: Error, Hashable, Sendable {
        /// What failed.
        public var message: String
    }

    private struct State: Sendable {
        var operations: [Operation] = []
        var texts: [String: String] = [:]
        var order: [String] = []
        var moderators: Set<String> = []
        var nextID = 0
        var failEdits = 0
        var failSends = 0
        var connected = true
        var handled: [PlatformEvent] = []
    }

    /// Platform name used in channel refs.
    public let platformName: String
    /// Capabilities given at creation.
    public let capabilities: PlatformCapabilities
    /// Edit budgets; tests may change them.
    public let editBudgets: EditBudgetBoard
    /// Injected events; roomy, since `inject` cannot wait and a test never queues this many.
    public let events = BoundedEventQueue<PlatformEvent>(capacity: 1 << 16)

    private let stopStream: AsyncStream<Void>
    private let stopContinuation: AsyncStream<Void>.Continuation
    private let state = Mutex(State())
    // Ids must not repeat across instances: a "restarted" platform must not reuse an answered id by accident.
    private let idTag = String(UInt64.random(in: 0...UInt64.max), radix: 36)

    /// Creates an in-memory platform.
    public init(name: String = "memory",
                capabilities: PlatformCapabilities = PlatformCapabilities(canEdit: true, maxLength: 2000),
                editBudget: EditBudget = EditBudget(burst: 100, interval: .milliseconds(10))) {
        self.platformName = name
        self.capabilities = capabilities
        self.editBudgets = EditBudgetBoard(fallback: editBudget)
        (stopStream, stopContinuation) = AsyncStream.makeStream(of: Void.self)
    }

    /// A channel on this platform.
    public func channel(_ id: String, server: String? = nil, name: String? = nil, serverName: String? = nil) -> ChannelRef {
        ChannelRef(platform: platformName, channelID: id, serverID: server, channelName: name, serverName: serverName)
    }

    /// Delivers an event to the bridge.
    public func inject(_ event: PlatformEvent) {
        events.offer(event)
    }

    /// Delivers a new message from `author` and returns its id.
    @discardableResult
    public func post(_ text: String, by author: ChatUser, in channel: ChannelRef, replyTo: String? = nil,
                     mentionsUs: Bool = false) -> String {
        let id = state.withLock { s in
            s.nextID += 1
            return "in-\(idTag)-\(s.nextID)"
        }
        inject(.messageCreated(IncomingMessage(channel: channel, author: author, messageID: id, text: text,
                                               replyTo: replyTo, mentionsUs: mentionsUs)))
        return id
    }

    /// Sets which user ids are moderators (everywhere on this platform).
    public func setModerators(_ ids: Set<String>) {
        state.withLock { $0.moderators = ids }
    }

    /// Sets what `isConnected` reports (for readiness tests).
    public func setConnected(_ connected: Bool) {
        state.withLock { $0.connected = connected }
    }

    /// Whether the platform counts as connected; `true` unless a test said otherwise.
    public var isConnected: Bool { state.withLock { $0.connected } }

    /// Records Core's acknowledgement that an event was handled.
    public func handled(_ event: PlatformEvent) async { state.withLock { $0.handled.append(event) } }

    /// Events Core has acknowledged as handled, in order.
    public var handledEvents: [PlatformEvent] { state.withLock { $0.handled } }

    /// Whether the router has handled the new message `id`.
    public func handled(messageID id: String) -> Bool {
        handledEvents.contains { event in
            if case .messageCreated(let m) = event { return m.messageID == id }
            return false
        }
    }

    /// Makes the next `count` edits fail.
    public func failNextEdits(_ count: Int) {
        state.withLock { $0.failEdits = count }
    }

    /// Makes the next `count` sends fail (a platform that refuses new messages).
    public func failNextSends(_ count: Int) {
        state.withLock { $0.failSends = count }
    }

    /// Every operation so far.
    public var operations: [Operation] { state.withLock { $0.operations } }

    /// Current text of each message the bridge sent, in sending order.
    public var sentMessages: [(id: String, text: String)] {
        state.withLock { s in s.order.map { ($0, s.texts[$0] ?? "") } }
    }

    /// Ends `run()` and the event stream.
    public func stop() {
        stopContinuation.finish()
    }

    /// Holds until `stop()`, graceful shutdown or cancellation.
    public func run() async throws {
        for try await _ in stopStream.cancelOnGracefulShutdown() {}
        events.finish()
    }

    /// Records the send and returns a fresh id.
    public func send(_ text: String, in channel: ChannelRef, replyTo: String?, as identity: PersonaIdentity?) async throws -> SentMessageRef {
        let id = try state.withLock { s in
            if s.failSends > 0 {
                s.failSends -= 1
                throw InjectedError(message: "injected send failure")
            }
            s.nextID += 1
            let id = "out-\(idTag)-\(s.nextID)"
            s.operations.append(.send(messageID: id, channel: channel, text: text, replyTo: replyTo, identity: identity))
            s.texts[id] = text
            s.order.append(id)
            return id
        }
        return SentMessageRef(channel: channel, messageID: id)
    }

    /// Records the edit; fails for unknown ids or when failures were injected.
    public func edit(_ message: SentMessageRef, text: String) async throws {
        try state.withLock { s in
            if s.failEdits > 0 {
                s.failEdits -= 1
                throw InjectedError(message: "injected edit failure")
            }
            guard s.texts[message.messageID] != nil else { throw InjectedError(message: "unknown message \(message.messageID)") }
            s.operations.append(.edit(messageID: message.messageID, text: text))
            s.texts[message.messageID] = text
        }
    }

    /// Records a typing indicator.
    public func typing(in channel: ChannelRef) async {
        state.withLock { $0.operations.append(.typing(channel)) }
    }

    /// Whether `user` is in the moderator set.
    public func isModerator(_ user: ChatUser, in channel: ChannelRef) async -> Bool {
        state.withLock { $0.moderators.contains(user.id) }
    }
}
