import BridgeCore
import Foundation
import Logging
import ServiceLifecycle
import SocketTransport
import Synchronization

/// Gateway connection settings.
public struct DiscordGatewayConfiguration: Sendable {
    /// Gateway URL to use instead of the one `GET /gateway/bot` returns (tests).
    public var gatewayURL: String?
    /// Intents to identify with.
    public var intents: GatewayIntents
    /// This process's shard id.
    public var shardID: Int
    /// Total shards.
    public var shardCount: Int
    /// Whether to ask for `compress=zlib-stream`.
    public var compress: Bool
    /// First reconnect delay.
    public var backoffBase: Duration
    /// Largest reconnect delay.
    public var backoffCap: Duration
    /// Websocket settings (CA file, TLS verification, message size).
    public var webSocket: WebSocketConfiguration
    /// Identify spacing per concurrency bucket (Discord: 5 s).
    public var identifySpacing: Duration

    /// Creates a configuration.
    public init(gatewayURL: String? = nil, intents: GatewayIntents = .bridgeDefault, shardID: Int = 0, shardCount: Int = 1,
                compress: Bool = true, backoffBase: Duration = .seconds(1), backoffCap: Duration = .seconds(60),
                webSocket: WebSocketConfiguration = .init(), identifySpacing: Duration = .seconds(5)) {
        self.gatewayURL = gatewayURL
        self.intents = intents
        self.shardID = shardID
        self.shardCount = shardCount
        self.compress = compress
        self.backoffBase = backoffBase
        self.backoffCap = backoffCap
        self.webSocket = webSocket
        self.identifySpacing = identifySpacing
    }
}

/// Counters for health checks and tests.
public struct DiscordGatewayStats: Sendable, Hashable {
    /// Websocket connections opened.
    public var connections = 0
    /// Identify payloads sent.
    public var identifies = 0
    /// Resume payloads sent.
    public var resumes = 0
    /// READY dispatches seen.
    public var readies = 0
    /// RESUMED dispatches seen.
    public var resumed = 0
    /// Heartbeats sent.
    public var heartbeats = 0
    /// Payloads that failed to decode (skipped).
    public var decodeFailures = 0
    /// Current phase.
    public var phase: GatewayStateMachine.Phase = .connecting
    /// When the last dispatch was read off the socket, on the gateway's clock (benchmarks time from it).
    public var lastDispatchAt: Duration?
}

/// One gateway shard over the websocket transport, driving `GatewayStateMachine`.
public final class DiscordGateway: Service, Sendable {
    private struct State {
        var machine: GatewayStateMachine?
        var budget = GatewaySendBudget()
        var stats = DiscordGatewayStats()
        var next: (url: String, delay: Duration)?
        var fatal: GatewayFatalError?
    }

    /// The settings in use.
    public let configuration: DiscordGatewayConfiguration
    private let token: String
    private let rest: DiscordREST
    private let clock: ElapsedClock
    private let jitter: @Sendable () -> Double
    private let logger: Logger
    private let handler: @Sendable (GatewayPayload) async -> Void
    private let drained: @Sendable () -> Void
    private let state: Mutex<State>
    private let identifyGate: IdentifyGate

    /// Creates a gateway; `handler` receives every decoded payload in order, in the read loop: while it waits the
    /// socket is not read (backpressure), so it should wait only for room downstream. `drained` runs whenever the
    /// read loop has handled every payload received so far and is about to wait for more (a handler that held work
    /// back for a run of payloads hands it on there). Shards of one process share `identifyGate`, so identify
    /// concurrency holds across them.
    public convenience init(token: String, configuration: DiscordGatewayConfiguration, rest: DiscordREST,
                            clock: any Clock<Duration> = ContinuousClock(),
                            jitter: @escaping @Sendable () -> Double = { Double.random(in: 0...1) },
                            identifyGate: IdentifyGate? = nil,
                            logger: Logger, drained: @escaping @Sendable () -> Void = {},
                            handler: @escaping @Sendable (GatewayPayload) async -> Void) {
        self.init(token: token, configuration: configuration, rest: rest, elapsed: ElapsedClock(clock), jitter: jitter,
                  identifyGate: identifyGate, logger: logger, drained: drained, handler: handler)
    }

    /// Creates a gateway on the adapter's view of its clock: shards sharing `identifyGate` must share one time zero.
    init(token: String, configuration: DiscordGatewayConfiguration, rest: DiscordREST, elapsed clock: ElapsedClock,
         jitter: @escaping @Sendable () -> Double, identifyGate: IdentifyGate?,
         logger: Logger, drained: @escaping @Sendable () -> Void = {}, handler: @escaping @Sendable (GatewayPayload) async -> Void) {
        self.identifyGate = identifyGate ?? IdentifyGate(spacing: configuration.identifySpacing)
        self.token = token
        self.configuration = configuration
        self.rest = rest
        self.clock = clock
        self.jitter = jitter
        self.logger = logger
        self.handler = handler
        self.drained = drained
        self.state = Mutex(State())
    }

    /// Current counters.
    public var stats: DiscordGatewayStats { state.withLock { $0.stats } }

    /// Connects and stays connected until cancelled, graceful shutdown, or a fatal close (which is thrown).
    public func run() async throws {
        try await cancelWhenGracefulShutdown { [self] in try await connectionLoop() }
    }

    private struct GatewayBot: Decodable {
        struct Limit: Decodable { var remaining: Int?; var reset_after: Int?; var max_concurrency: Int? }
        var url: String
        var session_start_limit: Limit?
    }

    private func connectionLoop() async throws {
        var url: String
        do {
            let info = try await rest.request(GatewayBot.self, .gatewayBot)
            url = configuration.gatewayURL ?? info.url
            if let limit = info.session_start_limit {
                identifyGate.configure(maxConcurrency: limit.max_concurrency ?? 1)
                if limit.remaining == 0, let resetAfter = limit.reset_after {
                    logger.warning("discord identify quota used up; waiting", metadata: ["reset-after-ms": "\(resetAfter)"])
                    try await clock.sleep(until: clock.now + .milliseconds(resetAfter))
                }
            }
        } catch let error as DiscordRESTError where error.code == .unauthorized {
            throw GatewayFatalError(code: 4004, message: "authentication failed: the bot token is invalid (GET /gateway/bot returned 401); check the configured Discord token")
        } catch {
            guard let override = configuration.gatewayURL else { throw error }
            logger.warning("GET /gateway/bot failed; using the configured gateway URL", metadata: ["error": "\(error)"])
            url = override
        }
        let machine = GatewayStateMachine(
            gatewayURL: url, intents: configuration.intents, shard: (configuration.shardID, configuration.shardCount),
            backoffBase: configuration.backoffBase, backoffCap: configuration.backoffCap)
        state.withLock { $0.machine = machine }
        var delay = Duration.zero
        while !Task.isCancelled {
            if delay > .zero { try await clock.sleep(until: clock.now + delay) }
            let target = Self.connectURL(url, compress: configuration.compress)
            do {
                let socket = try await WebSocket.connect(url: target, configuration: configuration.webSocket, logger: logger)
                state.withLock { s in
                    s.machine?.opened()
                    s.budget.reset()
                    s.stats.connections += 1
                    s.next = nil
                }
                logger.info("discord gateway connected", metadata: ["shard": "\(configuration.shardID)"])
                await session(socket)
            } catch {
                logger.warning("discord gateway connect failed", metadata: ["error": "\(error)"])
                let now = clock.now
                let j = jitter()
                let actions = state.withLock { $0.machine?.closed(code: nil, now: now, jitter: j) ?? [] }
                record(actions)
            }
            let (next, fatal) = state.withLock { s in (s.next, s.fatal) }
            if let fatal {
                logger.critical("discord gateway stopped", metadata: ["error": "\(fatal)"])
                throw fatal
            }
            guard let next else { break }
            url = next.url
            delay = next.delay
            logger.info("discord gateway reconnecting", metadata: ["delay": "\(delay)"])
        }
    }

    static func connectURL(_ url: String, compress: Bool) -> String {
        var base = url
        if let q = base.firstIndex(of: "?") { base = String(base[..<q]) }
        if !base.hasSuffix("/") { base += "/" }
        return base + "?v=10&encoding=json" + (compress ? "&compress=zlib-stream" : "")
    }

    /// Remembers reconnect/stop actions (they end the session).
    private func record(_ actions: [GatewayAction]) {
        state.withLock { s in
            for action in actions {
                switch action {
                case .connect(let url, let after): s.next = (url, after)
                case .stop(let error): s.fatal = error
                case .send, .close: break
                }
            }
        }
    }

    private func session(_ socket: WebSocket) async {
        let inflater: ZlibStreamInflater?
        do {
            inflater = configuration.compress ? try ZlibStreamInflater() : nil
        } catch {
            logger.error("zlib init failed", metadata: ["error": "\(error)"])
            socket.abort()
            record([.connect(url: state.withLock { $0.machine?.gatewayURL ?? "" }, after: .seconds(5))])
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in await heartbeatLoop(socket) }
            let closeCode = await readLoop(socket, inflater: inflater)
            group.cancelAll()
            let now = clock.now
            let j = jitter()
            let actions = state.withLock { s -> [GatewayAction] in
                let actions = s.machine?.closed(code: closeCode, now: now, jitter: j) ?? []
                s.stats.phase = s.machine?.phase ?? .connecting
                return actions
            }
            if let closeCode { logger.info("discord gateway closed", metadata: ["code": "\(closeCode)"]) }
            record(actions)
        }
    }

    /// Reads until the socket ends; returns the peer's close code, if any.
    private func readLoop(_ socket: WebSocket, inflater: ZlibStreamInflater?) async -> Int? {
        // A closed socket ends the loop without a last wait: what the handler held back goes on now, not after
        // the reconnect.
        defer { drained() }
        // Per connection: a new session may bring other channels and speakers.
        let strings = GatewayStringCache()
        do {
            var messages = socket.messages.makeAsyncIterator()
            // Whatever the socket received since the last look, taken at once; its buffer goes back to the socket
            // for the messages after it, so a flood allocates nothing per frame here.
            var frames = WebSocketFrames()
            while true {
                // About to wait for the network: whatever the handler held back goes on now.
                if !socket.messages.hasQueuedMessages { drained() }
                guard try await messages.next(&frames) else { break }
                for index in 0..<frames.count {
                    let binary = frames.isBinary(index)
                    // Decoded where the frame (or the inflater's output) lies: the payload keeps none of the bytes.
                    let decoded = try frames.withFrame(index) { bytes -> Result<GatewayPayload, GatewayDecodeError>? in
                        guard binary, let inflater else {
                            return Result { () throws(GatewayDecodeError) in try GatewayPayload.decode(bytes, strings: strings) }
                        }
                        return try inflater.withPayload(bytes) { payload in
                            Result { () throws(GatewayDecodeError) in try GatewayPayload.decode(payload, strings: strings) }
                        }
                    }
                    guard let decoded else { continue }
                    let payload: GatewayPayload
                    switch decoded {
                    case .success(let decodedPayload): payload = decodedPayload
                    case .failure(let error):
                        state.withLock { $0.stats.decodeFailures += 1 }
                        logger.debug("discord payload skipped", metadata: ["error": "\(error)"])
                        continue
                    }
                    let now = clock.now
                    // Only hello, reconnect and invalid-session use the jitter; a dispatch spares the RNG call.
                    let j = payload.op == .dispatch ? 0 : jitter()
                    let actions = state.withLock { s -> [GatewayAction] in
                        let actions = s.machine?.receive(payload, now: now, jitter: j) ?? []
                        switch payload.event {
                        case .ready: s.stats.readies += 1
                        case .resumed: s.stats.resumed += 1
                        default: break
                        }
                        s.stats.phase = s.machine?.phase ?? .connecting
                        if payload.op == .dispatch { s.stats.lastDispatchAt = now }
                        return actions
                    }
                    // Awaited: a full event queue stops this loop reading, which stops the socket reading.
                    if payload.op == .dispatch { await handler(payload) }
                    // Nearly every dispatch asks for nothing: no suspension point to pay for then.
                    if !actions.isEmpty, try await perform(actions, on: socket) { return nil }
                }
            }
            return nil
        } catch let error as WebSocketError {
            return error.closeCode.map(Int.init)
        } catch let error as ZlibStreamError {
            logger.warning("discord zlib stream broken; reconnecting", metadata: ["error": "\(error)"])
            await closeSocket(socket, code: 4000)
            return nil
        } catch {
            logger.warning("discord gateway read failed", metadata: ["error": "\(error)"])
            return nil
        }
    }

    private func heartbeatLoop(_ socket: WebSocket) async {
        while !Task.isCancelled {
            let due = state.withLock { $0.machine?.nextHeartbeat }
            let now = clock.now
            let wake = min(due ?? now + .milliseconds(250), now + .milliseconds(250))
            do { try await clock.sleep(until: max(wake, now)) } catch { return }
            let tickNow = clock.now
            let j = jitter()
            let actions = state.withLock { $0.machine?.tick(now: tickNow, jitter: j) ?? [] }
            if actions.isEmpty { continue }
            do {
                if try await perform(actions, on: socket) { return }
            } catch {
                return
            }
        }
    }

    /// Runs actions; returns true when the session is over (a reconnect or stop was scheduled).
    private func perform(_ actions: [GatewayAction], on socket: WebSocket) async throws -> Bool {
        var over = false
        for action in actions {
            switch action {
            case .send(let command):
                try await send(command, on: socket)
            case .close(let code):
                await closeSocket(socket, code: UInt16(code))
            case .connect, .stop:
                record([action])
                over = true
            }
        }
        return over
    }

    private func closeSocket(_ socket: WebSocket, code: UInt16) async {
        // A peer that never answers the close frame must not hold the reconnect up.
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await socket.close(code: code, reason: "reconnecting") }
            group.addTask { [clock] in
                do {
                    try await clock.sleep(until: clock.now + .seconds(3))
                    socket.abort()
                } catch {}
            }
            await group.next()
            group.cancelAll()
        }
    }

    private func send(_ command: GatewayCommand, on socket: WebSocket) async throws {
        let isHeartbeat: Bool
        if case .heartbeat = command { isHeartbeat = true } else { isHeartbeat = false }
        if case .identify = command {
            while true {
                let now = clock.now
                let shard = configuration.shardID
                guard let wait = identifyGate.reserve(shardID: shard, now: now) else { break }
                try await clock.sleep(until: now + wait)
            }
        }
        while true {
            let now = clock.now
            guard let wait = state.withLock({ $0.budget.reserve(isHeartbeat: isHeartbeat, now: now) }) else { break }
            logger.notice("discord gateway send budget reached; waiting", metadata: ["wait": "\(wait)"])
            try await clock.sleep(until: now + wait)
        }
        state.withLock { s in
            switch command {
            case .heartbeat: s.stats.heartbeats += 1
            case .identify: s.stats.identifies += 1
            case .resume: s.stats.resumes += 1
            }
        }
        try await socket.send(text: GatewayCommandEncoder.encode(command, token: token))
    }
}

/// One process's identify limiter, shared by its shards.
public final class IdentifyGate: Sendable {
    private let limiter: Mutex<IdentifyLimiter>
    private let spacing: Duration

    /// Creates a gate with Discord's default concurrency of one.
    public init(spacing: Duration = .seconds(5)) {
        self.spacing = spacing
        limiter = Mutex(IdentifyLimiter(maxConcurrency: 1, spacing: spacing))
    }

    /// Applies `session_start_limit.max_concurrency` (keeps history when unchanged).
    public func configure(maxConcurrency: Int) {
        let spacing = self.spacing
        limiter.withLock { if $0.maxConcurrency != max(1, maxConcurrency) { $0 = IdentifyLimiter(maxConcurrency: maxConcurrency, spacing: spacing) } }
    }

    /// Nil when shard `shardID` may identify now (recorded), else how long to wait.
    public func reserve(shardID: Int, now: Duration) -> Duration? {
        limiter.withLock { $0.reserve(shardId: shardID, now: now) }
    }
}

/// JSON for the commands the client sends.
enum GatewayCommandEncoder {
    private struct Envelope<D: Encodable>: Encodable { var op: Int; var d: D }
    private struct Identify: Encodable {
        struct Properties: Encodable { var os = "linux"; var browser = "persona-bridge"; var device = "persona-bridge" }
        var token: String
        var intents: Int
        var shard: [Int]
        var properties = Properties()
    }
    private struct Resume: Encodable { var token: String; var session_id: String; var seq: Int? }
    private struct Heartbeat: Encodable {
        var seq: Int?
        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            if let seq { try c.encode(seq) } else { try c.encodeNil() }
        }
    }

    static func encode(_ command: GatewayCommand, token: String) -> String {
        let encoder = JSONEncoder()
        let data: Data?
        switch command {
        case .heartbeat(let seq): data = try? encoder.encode(Envelope(op: 1, d: Heartbeat(seq: seq)))
        case .identify(let intents, let shard):
            data = try? encoder.encode(Envelope(op: 2, d: Identify(token: token, intents: intents.rawValue, shard: shard)))
        case .resume(let sessionId, let seq):
            data = try? encoder.encode(Envelope(op: 6, d: Resume(token: token, session_id: sessionId, seq: seq)))
        }
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
