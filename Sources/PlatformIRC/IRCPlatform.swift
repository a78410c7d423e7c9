import Foundation
import BridgeCore
import Logging
import ServiceLifecycle
import SocketTransport
import Synchronization

/// Why an IRC platform operation failed.
public struct IRCPlatformError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Error kind.
    public struct Code: Hashable, Sendable {
        /// Raw name.
        public let raw: String
        /// IRC has no message edits.
        public static let editUnsupported = Code(raw: "editUnsupported")
        /// The outgoing text could not be split for the target.
        public static let cannotSplit = Code(raw: "cannotSplit")
        /// The channel's outgoing queue is full.
        public static let queueFull = Code(raw: "queueFull")
    }

    /// Error kind.
    public let code: Code
    /// What happened.
    public let message: String
    /// Channel or target concerned.
    public let target: String

    /// Readable form for logs.
    public var description: String { "IRCPlatformError(\(code.raw)) for \(target): \(message)" }
}

/// The IRC adapter: one connection (with reconnects) to one network, exposed to Core as a `ChatPlatform`.
public final class IRCPlatform: ChatPlatform, Sendable {
    private struct State: ~Copyable {
        var socket: LineSocket?
        var wake: AsyncStream<Void>.Continuation?
        var rejoin: AsyncStream<String>.Continuation?
        var registered = false
        var sessionRegistered = false
        var channels: IRCChannelState
        var splitter: IRCOutgoingSplitter
        var queue: OutgoingQueue<[UInt8], ElapsedInstant>
        var enabledCapabilities: Set<String> = []
        var lastCTCPReply: [String: ElapsedInstant] = [:]
        var nextID = 0
        var lastProblem: String?
        /// A refusal that reconnecting cannot fix (required SASL failed, a ban, an invalid nick); ends `run`.
        var fatal: IRCRegistrationError?
        var lastTyping: [String: ElapsedInstant] = [:]
        var replay = IRCReplayFilter()
        var serverTimes: [String: IRCServerTime] = [:]
        var serverTimeOrder: [String] = []
        var saslSucceeded = false
    }

    /// Always `irc`.
    public let platformName = "irc"
    /// Incoming messages.
    public let events = BoundedEventQueue<PlatformEvent>(capacity: 256)
    /// No edits; lengths in UTF-8 bytes; IRC formatting.
    public let capabilities: PlatformCapabilities
    /// The configuration in use.
    public let configuration: IRCPlatformConfiguration

    private let clock: ElapsedClock
    private let logger: Logger
    private let metrics = BridgeMetrics()
    private let state: Mutex<State>
    private let idTag = String(UInt64.random(in: 0...UInt64.max), radix: 36)

    /// Creates the adapter; nothing connects until `run()`.
    public init(configuration: IRCPlatformConfiguration, clock: any Clock<Duration> = ContinuousClock(), logger: Logger) {
        self.configuration = configuration
        self.clock = ElapsedClock(clock)
        var logger = logger
        logger[metadataKey: "platform"] = "irc"
        self.logger = logger
        let splitter = IRCOutgoingSplitter(nick: configuration.nick, actionsEnabled: configuration.sendActions,
                                           actionMarker: configuration.actionMarker)
        let longest = configuration.channels.map(\.name).max { $0.utf8.count < $1.utf8.count } ?? "#" + String(repeating: "c", count: 49)
        capabilities = PlatformCapabilities(canEdit: false, maxLength: max(64, splitter.budget(target: longest)),
                                            lengthUnit: .utf8Bytes, textFormat: .irc)
        state = Mutex(State(channels: IRCChannelState(ourNick: configuration.nick), splitter: splitter,
                            queue: OutgoingQueue(capacityPerChannel: configuration.queueCapacity,
                                                 bucket: FloodBucket(burst: configuration.floodBurst,
                                                                     interval: configuration.floodInterval))))
    }

    /// Our current nick as the server knows it.
    public var currentNick: String { state.withLock { $0.channels.ourNick } }

    /// Whether registration finished on the current connection.
    public var isRegistered: Bool { state.withLock { $0.registered } }

    /// Ready for `/readyz` once registered on the current connection.
    public var isConnected: Bool { isRegistered }

    /// The last connection failure or drop, for health reports; nil once registered again.
    public var lastConnectionProblem: String? { state.withLock { $0.lastProblem } }

    /// Capabilities the server acknowledged on the current connection.
    public var enabledCapabilities: Set<String> { state.withLock { $0.enabledCapabilities } }

    /// Whether SASL authentication succeeded on the current connection.
    public var saslSucceeded: Bool { state.withLock { $0.saslSucceeded } }

    /// The `server-time` of a recent incoming message (by the message id given to Core), when the server sent one.
    public func serverTime(ofMessage messageID: String) -> IRCServerTime? { state.withLock { $0.serverTimes[messageID] } }

    /// Channels we are in right now.
    public var joinedChannels: [String] { state.withLock { $0.channels.joinedChannels } }

    /// The channel reference Core sees for an IRC target.
    public func channel(_ name: String) -> ChannelRef {
        ChannelRef(platform: platformName, channelID: name, serverID: configuration.networkID, channelName: name,
                   serverName: configuration.networkID)
    }

    // MARK: Service

    /// Connects, registers and relays until cancelled or graceful shutdown; reconnects with backoff after drops.
    public func run() async throws {
        defer { events.finish() }
        try await cancelWhenGracefulShutdown { [self] in
            try await connectionLoop()
        }
    }

    private func connectionLoop() async throws {
        var failures = 0
        while !Task.isCancelled {
            if let fatal = state.withLock({ $0.fatal }) {
                logger.critical("irc stopped: the server refuses this configuration", metadata: ["error": "\(fatal)"])
                throw fatal
            }
            do {
                let socket = try await LineSocket.connect(
                    host: configuration.host, port: configuration.port,
                    configuration: LineSocketConfiguration(useTLS: configuration.useTLS, verifyTLS: configuration.verifyTLS,
                                                           caFile: configuration.caFile),
                    logger: logger)
                let registered = await session(socket)
                if registered { failures = 0 }
            } catch {
                logger.warning("irc connection failed", metadata: ["error": "\(error)"])
                state.withLock { $0.lastProblem = "\(error)" }
            }
            if Task.isCancelled { break }
            if state.withLock({ $0.fatal != nil }) { continue }
            let delay = backoff(failures: failures)
            failures += 1
            logger.info("irc reconnecting", metadata: ["delay": "\(delay)"])
            metrics.reconnected(platform: platformName)
            do { try await clock.sleep(for: delay) } catch { break }
        }
    }

    /// Exponential backoff: initial × 2^failures, capped.
    func backoff(failures: Int) -> Duration {
        var delay = configuration.reconnectInitialDelay
        for _ in 0..<min(failures, 30) {
            delay = delay * 2
            if delay >= configuration.reconnectMaxDelay { return configuration.reconnectMaxDelay }
        }
        return min(delay, configuration.reconnectMaxDelay)
    }

    /// One connection; returns whether registration succeeded.
    private func session(_ socket: LineSocket) async -> Bool {
        let (wake, wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let (rejoins, rejoinContinuation) = AsyncStream.makeStream(of: String.self)
        state.withLock { s in
            s.socket = socket
            s.rejoin = rejoinContinuation
            s.wake = wakeContinuation
            s.registered = false
            s.sessionRegistered = false
            s.channels = IRCChannelState(ourNick: configuration.nick)
            s.splitter = IRCOutgoingSplitter(nick: configuration.nick, actionsEnabled: configuration.sendActions,
                                           actionMarker: configuration.actionMarker)
            s.enabledCapabilities = []
            s.lastCTCPReply = [:]
            s.replay = IRCReplayFilter(maximumLag: configuration.replayMaximumLag)
            s.saslSucceeded = false
        }
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { [self] in await writerLoop(socket, wake: wake); return false }
            group.addTask { [self] in await nickRegainLoop(socket); return false }
            group.addTask { [self] in await rejoinLoop(socket, rejoins: rejoins); return false }
            group.addTask { [self] in
                do {
                    try await readerLoop(socket)
                } catch let error as IRCRegistrationError where error.stopsForGood {
                    state.withLock { s in
                        s.lastProblem = "\(error)"
                        s.fatal = error
                    }
                } catch {
                    logger.warning("irc connection dropped", metadata: ["error": "\(error)"])
                    state.withLock { $0.lastProblem = "\(error)" }
                }
                if Task.isCancelled {
                    try? await socket.send(IRCMessage(command: "QUIT", params: ["shutting down"]).wireBytes)
                }
                return true
            }
            // Helpers may end early (e.g. rejoin disabled); only the reader's end closes the session.
            while let readerEnded = await group.next(), !readerEnded {}
            group.cancelAll()
        }
        state.withLock { s in
            s.socket = nil
            s.wake = nil
            s.rejoin = nil
            s.registered = false
        }
        wakeContinuation.finish()
        rejoinContinuation.finish()
        await socket.close()
        return state.withLock { $0.sessionRegistered }
    }

    private func readerLoop(_ socket: LineSocket) async throws {
        var registration = IRCRegistration(config: IRCRegistrationConfig(
            nick: configuration.nick, username: configuration.username, realname: configuration.realname,
            serverPassword: configuration.serverPassword, saslAccount: configuration.saslAccount,
            saslPassword: configuration.saslPassword, requireSASL: configuration.requireSASL,
            nickServPassword: configuration.nickServPassword, channels: configuration.channels))
        var alternatives = configuration.alternativeNicks[...]
        try await perform(registration.start(), on: socket)
        for try await bytes in socket.lines {
            let message: IRCMessage
            do {
                message = try IRCMessage(parsing: bytes)
            } catch {
                logger.debug("irc unparsable line", metadata: ["error": "\(error)"])
                continue
            }
            if ["433", "432", "436"].contains(message.command), registration.phase != .registered,
               let alternative = alternatives.popFirst() {
                try await socket.send(IRCMessage(command: "NICK", params: [alternative]).wireBytes)
                continue
            }
            try await perform(registration.handle(message), on: socket)
            let enabled = registration.enabledCapabilities
            let isupport = registration.isupport
            let nick = registration.phase == .registered ? registration.nick : nil
            let saslSucceeded = registration.saslSucceeded
            let (serverTime, isReplay) = state.withLock { s in
                s.saslSucceeded = saslSucceeded
                s.enabledCapabilities = enabled
                s.channels.isupport = isupport
                s.channels.handle(message)
                s.splitter.learn(from: message)
                if let nick {
                    s.channels.ourNick = nick
                    s.splitter.nick = nick
                }
                return s.replay.observe(message)
            }
            if message.command == "ERROR" { return }
            if message.command == "KICK", message.params.count >= 2, configuration.rejoinAfterKick != nil,
               IRCCaseMapping(isupport.caseMapping).equal(message.params[1], registration.nick) {
                logger.warning("irc kicked", metadata: ["channel": "\(message.params[0])"])
                _ = state.withLock { $0.rejoin?.yield(message.params[0]) }
            }
            if registration.phase == .registered, wantsNickBack(message, current: registration.nick,
                                                                mapping: IRCCaseMapping(isupport.caseMapping)) {
                for case .send(let nick) in registration.regainNick() { try await socket.send(nick.wireBytes) }
            }
            if isReplay {
                if message.command == "PRIVMSG" || message.command == "NOTICE" {
                    logger.debug("irc replayed history ignored", metadata: ["channel": "\(message.params.first ?? "")"])
                }
                continue
            }
            try await handleText(message, serverTime: serverTime, on: socket)
        }
    }

    private func perform(_ actions: [IRCRegistrationAction], on socket: LineSocket) async throws {
        for action in actions {
            switch action {
            case .send(let message):
                try await socket.send(message.wireBytes)
            case .registered(let nick):
                state.withLock { s in
                    s.registered = true
                    s.sessionRegistered = true
                    s.lastProblem = nil
                    s.channels.ourNick = nick
                    s.splitter.nick = nick
                    s.wake?.yield()
                }
                logger.info("irc registered", metadata: ["nick": "\(nick)"])
            case .failed(let error):
                throw error
            }
        }
    }

    private func handleText(_ message: IRCMessage, serverTime: IRCServerTime?, on socket: LineSocket) async throws {
        guard let incoming = IRCIncomingText(message) else { return }
        let (ourNick, mapping) = state.withLock { ($0.channels.ourNick, IRCCaseMapping($0.channels.isupport.caseMapping)) }
        let isOwn = mapping.equal(incoming.sender, ourNick)
        let isChannel = incoming.target.first.map { "#&+!".contains($0) } ?? false
        let channelID = isChannel ? incoming.target : (isOwn ? incoming.target : incoming.sender)
        switch incoming.kind {
        case .ctcp(let ctcp):
            if !isOwn, message.command == "PRIVMSG",
               let reply = ctcp.reply(to: incoming.sender, version: configuration.versionReply) {
                queueCTCPReply(reply, command: ctcp.command, to: message.prefix)
            }
            return
        case .notice:
            // RFC 2812: a NOTICE is never answered, so it never reaches the trigger policy (no notice ping-pong).
            logger.debug("irc notice ignored", metadata: ["target": "\(incoming.target)"])
            return
        case .message, .action:
            break
        }
        let id = state.withLock { s in
            let id = message.tag("msgid") ?? {
                s.nextID += 1
                return "irc-\(idTag)-in-\(s.nextID)"
            }()
            if let serverTime {
                // Bounded: Core asks soon after the event, if at all.
                if s.serverTimes.updateValue(serverTime, forKey: id) == nil { s.serverTimeOrder.append(id) }
                if s.serverTimeOrder.count > 1_024 { s.serverTimes[s.serverTimeOrder.removeFirst()] = nil }
            }
            return id
        }
        // Identity comes from this message alone: its account tag (a services login the server vouches for), else
        // user@host. A nick anyone can take after its owner quits is never trusted on its own.
        let stableID = message.tag("account").flatMap { $0.isEmpty || $0 == "*" ? nil : "account:\($0)" }
            ?? message.prefix.flatMap { p in p.user.flatMap { u in p.host.map { "host:\(u)@\($0)" } } }
        // The IRCv3 bot tag carries no value: its presence is the mark.
        let isBot = message.tags.contains { $0.key == "bot" || $0.key == "draft/bot" }
            || configuration.bots.contains { mapping.equal($0, incoming.sender) }
        // A private message is its own scene, per sender: replies go back to the nick, but the scene is keyed by who
        // the sender is (services account, else user@host), since anyone may take the nick later.
        var place = channel(channelID)
        place.isDirect = !isChannel
        if !isChannel, !isOwn { place.sceneOwner = stableID ?? "nick:" + incoming.sender.lowercased() }
        let event = IncomingMessage(
            channel: place,
            author: ChatUser(id: incoming.sender, displayName: incoming.sender, isBot: isBot && !isOwn, stableID: stableID),
            messageID: id, text: incoming.text, replyTo: message.tag("+reply") ?? message.tag("+draft/reply"),
            mentionsUs: !isOwn && (!isChannel || Self.mentions(incoming.text, nick: ourNick, mapping: mapping)),
            isOwnMessage: isOwn, timestamp: serverTime.map { Date(timeIntervalSince1970: $0.secondsSince1970) })
        await events.send(.messageCreated(event))
    }

    /// Shortest gap between two replies to the same CTCP request (VERSION, PING) from one source (by user@host, so
    /// nick changes do not reset it).
    static var ctcpReplyInterval: Duration { .seconds(10) }

    /// Queues a CTCP reply behind the flood bucket, at most one per source and request kind per
    /// `ctcpReplyInterval`; dropped when the queue is full, so a CTCP flood can neither flood us off the network
    /// nor grow memory.
    private func queueCTCPReply(_ reply: IRCMessage, command: String, to source: IRCPrefix?) {
        let now = clock.instant
        let sourceKey = (source.map { "\($0.user ?? "")@\($0.host ?? $0.nick)" } ?? "?") + " " + command
        let queued = state.withLock { s -> Bool in
            if let last = s.lastCTCPReply[sourceKey], last.duration(to: now) < Self.ctcpReplyInterval { return false }
            if s.lastCTCPReply.count > 1_024 { s.lastCTCPReply.removeAll() }
            do {
                // One shared queue for every CTCP reply: its capacity bounds them all together.
                try s.queue.enqueue([reply.wireBytes], for: "\u{01}ctcp")
            } catch {
                return false
            }
            s.lastCTCPReply[sourceKey] = now
            s.wake?.yield()
            return true
        }
        if !queued { logger.debug("irc ctcp reply dropped", metadata: ["source": "\(source?.nick ?? "?")"]) }
    }

    /// Rejoins channels we were kicked from, after the configured delay, with the configured key.
    private func rejoinLoop(_ socket: LineSocket, rejoins: AsyncStream<String>) async {
        guard let delay = configuration.rejoinAfterKick else { return }
        for await channel in rejoins {
            do { try await clock.sleep(for: delay) } catch { return }
            let key = configuration.channels.first { $0.name.lowercased() == channel.lowercased() }?.key
            let join = IRCMessage(command: "JOIN", params: key.map { [channel, $0] } ?? [channel])
            try? await socket.send(join.wireBytes)
        }
    }

    /// Periodically asks for the configured nick while registered under another; the server's NICK echo confirms it.
    private func nickRegainLoop(_ socket: LineSocket) async {
        while !Task.isCancelled {
            do { try await clock.sleep(for: configuration.nickRegainInterval) } catch { return }
            let current = state.withLock { s in s.registered ? s.channels.ourNick : nil }
            guard let current else { continue }
            let mapping = state.withLock { IRCCaseMapping($0.channels.isupport.caseMapping) }
            if !mapping.equal(current, configuration.nick) {
                try? await socket.send(IRCMessage(command: "NICK", params: [configuration.nick]).wireBytes)
            }
        }
    }

    /// Whether the configured nick just became free (its holder quit or changed nick) while we use another.
    private func wantsNickBack(_ message: IRCMessage, current: String, mapping: IRCCaseMapping) -> Bool {
        guard !mapping.equal(current, configuration.nick), message.command == "QUIT" || message.command == "NICK",
              let nick = message.prefix?.nick else { return false }
        return mapping.equal(nick, configuration.nick)
    }

    /// Whether `text` names `nick` as a whole word (so `aria:` and `hi aria!` count, `arianne` does not).
    static func mentions(_ text: String, nick: String, mapping: IRCCaseMapping) -> Bool {
        let folded = Array(mapping.fold(text).unicodeScalars)
        let needle = Array(mapping.fold(nick).unicodeScalars)
        guard !needle.isEmpty, folded.count >= needle.count else { return false }
        func isWordScalar(_ s: Unicode.Scalar) -> Bool {
            s.properties.isAlphabetic || s.properties.numericType != nil || "_-[]\\`^{}|".unicodeScalars.contains(s)
        }
        for start in 0...(folded.count - needle.count) where Array(folded[start..<start + needle.count]) == needle {
            let before = start == 0 || !isWordScalar(folded[start - 1])
            let end = start + needle.count
            let after = end == folded.count || !isWordScalar(folded[end])
            if before && after { return true }
        }
        return false
    }

    private func writerLoop(_ socket: LineSocket, wake: AsyncStream<Void>) async {
        for await _ in wake {
            while !Task.isCancelled {
                let (step, depth) = state.withLock { s -> (OutgoingQueueStep<[UInt8]>, Int) in
                    guard s.registered else { return (.idle, 0) }
                    let step = s.queue.next(now: clock.instant)
                    guard case .send(let channel, _) = step else { return (step, 0) }
                    return (step, s.queue.count(for: channel))
                }
                if case .send(let channel, _) = step {
                    metrics.queueDepth(platform: platformName, queue: channel, depth: depth)
                }
                switch step {
                case .idle:
                    break
                case .wait(let delay):
                    do { try await clock.sleep(for: delay) } catch { return }
                    continue
                case .send(let channel, let bytes):
                    do {
                        try await socket.send(bytes)
                    } catch {
                        logger.warning("irc send failed", metadata: ["channel": "\(channel)", "error": "\(error)"])
                        return
                    }
                    continue
                }
                break
            }
        }
    }

    // MARK: Sending

    /// Splits `text` into safe PRIVMSG lines and queues them; returns once queued (lines go out paced by the flood bucket).
    public func send(_ text: String, in channel: ChannelRef, replyTo: String?, as identity: PersonaIdentity?) async throws -> SentMessageRef {
        let target = channel.channelID
        let id = try state.withLock { s throws -> String in
            var body = text
            if let identity, !IRCCaseMapping(s.channels.isupport.caseMapping).equal(identity.displayName, s.channels.ourNick) {
                // One nick speaks for several personas: say who is talking.
                // Every kind of line break (CR, LF, CRLF) first, so no line goes out without the prefix.
                body = IRCOutgoingSplitter.lines(of: body)
                    .map { $0.isEmpty ? "" : "\(identity.displayName): \($0)" }.joined(separator: "\n")
            }
            let messages: [IRCMessage]
            do {
                messages = try s.splitter.messages(for: body, target: target)
            } catch {
                throw IRCPlatformError(code: .cannotSplit, message: "\(error)", target: target)
            }
            do {
                try s.queue.enqueue(messages.map(\.wireBytes), for: target)
            } catch {
                throw IRCPlatformError(code: .queueFull, message: "\(error)", target: target)
            }
            s.wake?.yield()
            s.nextID += 1
            return "irc-\(idTag)-out-\(s.nextID)"
        }
        logger.debug("irc queued message", metadata: ["channel": "\(target)"])
        return SentMessageRef(channel: channel, messageID: id)
    }

    /// Always throws: IRC has no edits (Core does not call this when `canEdit` is false).
    public func edit(_ message: SentMessageRef, text: String) async throws {
        throw IRCPlatformError(code: .editUnsupported, message: "IRC messages cannot be edited",
                               target: message.channel.channelID)
    }

    /// Sends a `+typing=active` TAGMSG (at most every 3 s per channel) when `message-tags` is enabled; otherwise nothing.
    public func typing(in channel: ChannelRef) async {
        let now = clock.instant
        let socket = state.withLock { s -> LineSocket? in
            guard s.registered, s.enabledCapabilities.contains("message-tags") else { return nil }
            // Servers and clients expect at most one typing notice per 3 s.
            if let last = s.lastTyping[channel.channelID], last.duration(to: now) < .seconds(3) { return nil }
            s.lastTyping[channel.channelID] = now
            return s.socket
        }
        guard let socket else { return }
        let message = IRCMessage(tags: [IRCTag(key: "+typing", value: "active")], command: "TAGMSG",
                                 params: [channel.channelID])
        try? await socket.send(message.wireBytes)
    }

    /// Channel operators (and half-ops when configured), configured admin nicks, and configured services accounts.
    ///
    /// The account is the one the server put on the very message being handled (`ChatUser.stableID`); nothing
    /// remembered by nick is trusted, so whoever takes an admin's nick after a QUIT or NICK gains nothing.
    public func isModerator(_ user: ChatUser, in channel: ChannelRef) async -> Bool {
        if user.isBot { return false }
        return state.withLock { s in
            let mapping = IRCCaseMapping(s.channels.isupport.caseMapping)
            let nick = user.id
            if configuration.adminNicks.contains(where: { mapping.equal($0, nick) }) { return true }
            if let stable = user.stableID, stable.hasPrefix("account:"),
               configuration.adminAccounts.contains(String(stable.dropFirst("account:".count))) { return true }
            return s.channels.isOperator(nick, in: channel.channelID, includeHalfOps: configuration.halfOpsAreModerators)
        }
    }
}

extension IRCRegistrationError: PlatformConfigurationError {
    /// Required SASL refused, a ban, or an invalid nick: reconnecting repeats the same refusal until the
    /// configuration (or the network's mind) changes. Other server errors (throttling, restarts) are retried.
    public var stopsForGood: Bool { [.saslFailed, .banned, .erroneousNick].contains(code) }
}
