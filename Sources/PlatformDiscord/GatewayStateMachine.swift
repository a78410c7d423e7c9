import BridgeCore

/// Gateway intents bits.
public struct GatewayIntents: OptionSet, Hashable, Sendable {
    /// The raw bit set.
    public let rawValue: Int
    /// Creates intents from bits.
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// Guild, channel and role events.
    public static let guilds = GatewayIntents(rawValue: 1 << 0)
    /// Guild message events.
    public static let guildMessages = GatewayIntents(rawValue: 1 << 9)
    /// DM events.
    public static let directMessages = GatewayIntents(rawValue: 1 << 12)
    /// Privileged: message text.
    public static let messageContent = GatewayIntents(rawValue: 1 << 15)
    /// Reactions on guild messages (the reply controls when `controls = "reactions"`).
    public static let guildMessageReactions = GatewayIntents(rawValue: 1 << 10)
    /// The bridge's default set.
    public static let bridgeDefault: GatewayIntents = [.guilds, .guildMessages, .directMessages, .messageContent]
}

/// A command the adapter must send on the gateway.
public enum GatewayCommand: Hashable, Sendable {
    case heartbeat(seq: Int?)
    case identify(intents: GatewayIntents, shard: [Int])
    case resume(sessionId: String, seq: Int?)
}

/// A gateway close that must stop the adapter; never reconnect after it.
public struct GatewayFatalError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The close code Discord sent.
    public let code: Int
    /// What to fix.
    public let message: String
    /// A one-line summary.
    public var description: String { "Discord gateway closed with \(code): \(message)" }

    /// The fatal error for a close code, or nil when the code allows reconnecting.
    public static func forCloseCode(_ code: Int) -> GatewayFatalError? {
        switch code {
        case 4004: GatewayFatalError(code: code, message: "authentication failed: the bot token is invalid; check the configured Discord token")
        case 4010: GatewayFatalError(code: code, message: "invalid shard sent in identify; check shard id and count")
        case 4011: GatewayFatalError(code: code, message: "sharding required: configure more shards")
        case 4012: GatewayFatalError(code: code, message: "invalid gateway API version")
        case 4013: GatewayFatalError(code: code, message: "invalid intents value")
        case 4014: GatewayFatalError(code: code, message: "disallowed intents: enable the privileged MESSAGE_CONTENT intent in the Developer Portal or remove it from the configured intents")
        default: nil
        }
    }
}

/// What the transport must do next.
public enum GatewayAction: Hashable, Sendable {
    case send(GatewayCommand)
    /// Close the socket with this code (never 1000/1001, which would end the session).
    case close(code: Int)
    /// Open a new connection to `url` after `delay`.
    case connect(url: String, after: Duration)
    /// Stop for good.
    case stop(GatewayFatalError)
}

/// Pure gateway session logic: heartbeats, zombie detection, identify/resume and reconnect policy.
public struct GatewayStateMachine: Sendable {
    /// Connection phase.
    public enum Phase: Hashable, Sendable { case connecting, handshaking, ready, reconnecting, stopped }

    /// Current phase.
    public private(set) var phase: Phase = .connecting
    /// Last sequence number seen.
    public private(set) var seq: Int?
    /// Session id from READY, kept until a new session is required.
    public private(set) var sessionId: String?
    /// Resume URL from READY.
    public private(set) var resumeGatewayURL: String?
    /// Heartbeat interval from HELLO.
    public private(set) var heartbeatInterval: Duration?
    /// When the next heartbeat is due (time since start).
    public private(set) var nextHeartbeat: Duration?
    private var awaitingAck = false
    private var closeRequested = false
    private var failures = 0

    /// Gateway URL from /gateway/bot.
    public let gatewayURL: String
    /// Intents to identify with.
    public let intents: GatewayIntents
    /// Shard id and count.
    public let shard: (id: Int, count: Int)
    /// First reconnect delay.
    public let backoffBase: Duration
    /// Largest reconnect delay.
    public let backoffCap: Duration

    /// Creates a machine for one shard.
    public init(
        gatewayURL: String, intents: GatewayIntents = .bridgeDefault, shard: (id: Int, count: Int) = (0, 1),
        backoffBase: Duration = .seconds(1), backoffCap: Duration = .seconds(60)
    ) {
        self.gatewayURL = gatewayURL
        self.intents = intents
        self.shard = shard
        self.backoffBase = backoffBase
        self.backoffCap = backoffCap
    }

    /// Handles one decoded payload; `jitter` in 0...1 comes from the caller's RNG.
    public mutating func receive(_ payload: GatewayPayload, now: Duration, jitter: Double) -> [GatewayAction] {
        guard phase != .stopped else { return [] }
        if let s = payload.s { seq = s }
        switch payload.event {
        case .hello(let interval):
            heartbeatInterval = interval
            nextHeartbeat = now + interval * min(max(jitter, 0), 1)
            awaitingAck = false
            phase = .handshaking
            if let sessionId {
                return [.send(.resume(sessionId: sessionId, seq: seq))]
            }
            return [.send(.identify(intents: intents, shard: [shard.id, shard.count]))]
        case .heartbeatRequest:
            return [.send(.heartbeat(seq: seq))]
        case .heartbeatAck:
            awaitingAck = false
            return []
        case .ready(let ready):
            sessionId = ready.sessionId
            resumeGatewayURL = ready.resumeGatewayURL
            phase = .ready
            failures = 0
            return []
        case .resumed:
            phase = .ready
            failures = 0
            return []
        case .reconnect:
            return reconnect(code: 4000, now: now, jitter: jitter, immediate: true)
        case .invalidSession(let resumable):
            if !resumable { forgetSession() }
            phase = .reconnecting
            heartbeatInterval = nil
            nextHeartbeat = nil
            // Discord asks for a random 1-5 s wait before identifying again.
            let delay: Duration = resumable ? .zero : .seconds(1) + .seconds(4) * jitter
            closeRequested = true
            return [.close(code: 4000), .connect(url: currentURL, after: delay)]
        case .messageCreate, .messageUpdate, .messageDelete, .guildCreate, .channelUpdate, .roleUpdate, .roleDelete,
             .guildMemberUpdate, .guildUpdate, .interactionCreate, .reactionAdd, .threadListSync, .threadDelete, .unknownDispatch,
             .unknownOpcode:
            return []
        }
    }

    /// Advances time: sends a due heartbeat, or detects a zombie connection.
    public mutating func tick(now: Duration, jitter: Double) -> [GatewayAction] {
        guard phase == .handshaking || phase == .ready, let interval = heartbeatInterval,
            let due = nextHeartbeat, now >= due
        else { return [] }
        if awaitingAck {
            return reconnect(code: 4000, now: now, jitter: jitter, immediate: true)
        }
        awaitingAck = true
        nextHeartbeat = due + interval
        return [.send(.heartbeat(seq: seq))]
    }

    /// Call when a socket (re)opens; HELLO is expected next.
    public mutating func opened() {
        guard phase != .stopped else { return }
        phase = .connecting
        closeRequested = false
    }

    /// Handles the socket closing with `code` (nil when none was given, or the connect failed).
    public mutating func closed(code: Int?, now: Duration, jitter: Double) -> [GatewayAction] {
        guard phase != .stopped else { return [] }
        // The close we asked for already scheduled its reconnect.
        if closeRequested {
            closeRequested = false
            return []
        }
        if let code, let fatal = GatewayFatalError.forCloseCode(code) {
            phase = .stopped
            heartbeatInterval = nil
            nextHeartbeat = nil
            return [.stop(fatal)]
        }
        if code == 4007 || code == 4009 || code == 1000 || code == 1001 { forgetSession() }
        return reconnect(code: nil, now: now, jitter: jitter, immediate: false)
    }

    private var currentURL: String { sessionId != nil ? (resumeGatewayURL ?? gatewayURL) : gatewayURL }

    private mutating func forgetSession() {
        sessionId = nil
        resumeGatewayURL = nil
        seq = nil
    }

    private mutating func reconnect(code: Int?, now: Duration, jitter: Double, immediate: Bool) -> [GatewayAction] {
        phase = .reconnecting
        heartbeatInterval = nil
        nextHeartbeat = nil
        awaitingAck = false
        var delay = Duration.zero
        if !immediate {
            let exponent = min(failures, 16)
            let raw = backoffBase * (1 << exponent)
            let capped = raw > backoffCap ? backoffCap : raw
            delay = capped * (0.5 + 0.5 * min(max(jitter, 0), 1))
            failures += 1
        }
        var actions: [GatewayAction] = []
        if let code {
            closeRequested = true
            actions.append(.close(code: code))
        }
        actions.append(.connect(url: currentURL, after: delay))
        return actions
    }
}

extension GatewayFatalError: PlatformConfigurationError {
    /// Every fatal close (4004, 4010–4014) needs a configuration change.
    public var stopsForGood: Bool { true }
}
