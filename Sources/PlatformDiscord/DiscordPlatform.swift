import BridgeCore
import Foundation
import HTTPTransport
import Logging
import ServiceLifecycle
import Storage
import Synchronization

/// The Discord adapter: gateway events in, REST replies out (plain or through channel webhooks), slash commands,
/// permission checks from roles and overwrites, catch-up after a new session.
public final class DiscordPlatform: ChatPlatform, Sendable {
    struct GuildInfo {
        var ownerID: String?
        var roles: [String: DiscordPermissions] = [:]
        var ourRoles: [String] = []
    }
    /// A guild member's key: the two ids hashed as they are (a joined string cost an allocation per message).
    struct MemberKey: Hashable {
        var guild: String
        var user: String
    }
    /// What a channel reference is made from besides the known channels.
    struct ChannelRefKey: Hashable {
        var channel: String
        var guild: String?
    }
    struct State {
        var botUserID: String?
        var botName: String?
        var applicationID: String?
        var guilds: [String: GuildInfo] = [:]
        var channels: [String: DiscordChannel] = [:] {
            didSet { channelRefs.removeAll(keepingCapacity: true) }
        }
        /// Channel references made from `channels` (every message needs one); forgotten when `channels` changes.
        var channelRefs: [ChannelRefKey: ChannelRef] = [:]
        var memberRoles: [MemberKey: [String]] = [:]
        /// Channel permissions Discord resolved for an interaction, with when they were seen; trusted only for
        /// `interactionPermissionTTL` and dropped on any member, role, channel or guild change.
        var interactionPermissions: [String: (permissions: DiscordPermissions, seen: Duration)] = [:]
        var webhooks = DiscordWebhooks()
        var ownMessageIDs: Set<String> = []
        var ownMessageOrder: [String] = []
        var commandsRegistered = false
        /// Human messages held for proxies (PluralKit, Tupperbox); set from the configuration in `init`.
        var proxyHold = ProxyHold<DiscordMessage>(wait: .zero)
    }

    /// Always `discord`.
    public let platformName = DiscordPlatform.name
    static var name: String { "discord" }
    /// Incoming events; bounded, so a router that falls behind stops the gateway reading (and, through the
    /// websocket's receive limit, the socket).
    public let events: BoundedEventQueue<PlatformEvent>
    /// Edits allowed, 2,000 characters (less room for a persona-name prefix), Markdown.
    public let capabilities = PlatformCapabilities(canEdit: true, maxLength: 1900, textFormat: .markdown, perMessageIdentities: true)
    /// Per-channel edit budgets: Discord's fixed 5-per-5-s message window, read live from the learned buckets.
    public let editBudgets = EditBudgetBoard(fallback: EditBudget(window: FixedWindow(limit: 5, length: .seconds(5))))
    /// The configuration in use.
    public let configuration: DiscordPlatformConfiguration
    /// The REST client (tests read its 429 count).
    public let rest: DiscordREST
    /// The first (often only) gateway shard.
    public var gateway: DiscordGateway { gateways[0] }
    /// One gateway per configured shard id.
    public let gateways: [DiscordGateway]

    /// Events waiting for the router at most; the gateway's read loop waits beyond this. A mention waits behind what
    /// is queued here and in the router's backlog: 1,024 events are ~7 ms of a flood, while a smaller queue made the
    /// read loop and the router stop and wake each other every 128 events (8 % of a flood's CPU).
    static let eventQueueCapacity = 1_024
    /// Work a payload starts that must not hold up the read loop (catch-up, command registration, interactions).
    private let sideWork: AsyncStream<@Sendable () async -> Void>
    private let sideWorkContinuation: AsyncStream<@Sendable () async -> Void>.Continuation
    let store: any Store
    /// The adapter's view of its injected clock, shared with its REST client and gateways; stamps are on it.
    public let clock: ElapsedClock
    let logger: Logger
    let state = Mutex(State())
    /// The bound channels' catch-up marks (see `CatchUpMarks` for why they have a lock of their own).
    let catchUpMarks = Mutex(CatchUpMarks())
    /// Wakes `persistMarks`; holds at most one wake-up, so a flood coalesces into one write round.
    let markSignal: AsyncStream<Void>.Continuation
    private let markSignals: AsyncStream<Void>
    /// The bound channels' ids, looked up per message (a scan of the configured list would grow with the server).
    let boundChannelIDs: Set<String>
    private let webhookCreation = WebhookCreation()
    /// Who sent a proxied message, asked of PluralKit.
    public let pluralKit: PluralKitClient
    /// Wakes the proxy timer when it sleeps with nothing held; holds at most one wake-up.
    let proxyWake: AsyncStream<Void>.Continuation
    private let proxyWakes: AsyncStream<Void>

    /// Creates the adapter; nothing connects until `run()`.
    public init(configuration: DiscordPlatformConfiguration, http: HTTPClient, store: any Store,
                clock: any Clock<Duration> = ContinuousClock(),
                jitter: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }, logger: Logger) {
        let clock = ElapsedClock(clock)
        var logger = logger
        logger[metadataKey: "platform"] = "discord"
        self.configuration = configuration
        boundChannelIDs = Set(configuration.boundChannels.map(\.channelID))
        self.store = store
        self.clock = clock
        self.logger = logger
        let events = BoundedEventQueue<PlatformEvent>(capacity: Self.eventQueueCapacity)
        self.events = events
        (sideWork, sideWorkContinuation) = AsyncStream.makeStream(of: (@Sendable () async -> Void).self)
        // The gateways hand payloads straight to this adapter, in their read loops (no queue in between);
        // the reference is weak because the adapter owns the gateways.
        let sink = PayloadSink()
        (markSignals, markSignal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let rest = DiscordREST(token: configuration.token, http: http, baseURL: configuration.apiBaseURL,
                               userAgent: configuration.userAgent, elapsed: clock, logger: logger)
        self.rest = rest
        let gate = IdentifyGate(spacing: configuration.gateway.identifySpacing)
        let shardIDs = configuration.shardIDs.isEmpty ? [configuration.gateway.shardID] : configuration.shardIDs
        gateways = shardIDs.map { shard in
            var settings = configuration.gateway
            settings.shardID = shard
            var shardLogger = logger
            shardLogger[metadataKey: "shard"] = "\(shard)"
            return DiscordGateway(token: configuration.token, configuration: settings, rest: rest, elapsed: clock, jitter: jitter,
                                  identifyGate: gate, logger: shardLogger, drained: { events.wake() }) { payload in
                await sink.deliver(payload, shard: shard)
            }
        }
        pluralKit = PluralKitClient(baseURL: configuration.pluralKitAPI, http: http, clock: clock,
                                    maxWait: max(configuration.proxyWait, .seconds(1)), logger: logger)
        (proxyWakes, proxyWake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        state.withLock { $0.proxyHold = ProxyHold(wait: configuration.proxyWait, proxyChannels: configuration.proxyChannels) }
        sink.attach(self)
        editBudgets.attachWindowSource { [weak self] channel in self?.liveWindow(channel) }
    }

    /// The channel's message bucket as REST knows it right now: creates, edits and later parts all count in it.
    /// A channel whose replies go through its webhook uses the webhook's own bucket.
    private func liveWindow(_ channel: ChannelRef) -> FixedWindow? {
        let host = webhookHost(channel.channelID)
        if let hook = state.withLock({ $0.webhooks.webhook(of: host) }),
            let window = rest.window(for: .editWebhookMessage(id: hook.id, token: hook.token))
                ?? rest.window(for: .executeWebhook(id: hook.id, token: hook.token))
        {
            return window
        }
        return rest.window(for: .editMessage(channelID: channel.channelID))
            ?? rest.window(for: .createMessage(channelID: channel.channelID))
    }

    /// Feeds the Core edit scheduler the channel's learned bucket shape.
    func refreshBudget(_ channel: ChannelRef) {
        guard let learned = rest.editBudget(channelID: channel.channelID) else { return }
        // The shape only; the live count and reset come from `liveWindow`.
        let budget = EditBudget(window: FixedWindow(limit: learned.burst, length: learned.interval * learned.burst))
        editBudgets.setIfChanged(budget, for: channel)
    }

    // MARK: Service

    /// Runs the gateway and handles its events until cancelled, shut down, or a fatal close (rethrown).
    public func run() async throws {
        defer {
            events.finish()
            sideWorkContinuation.finish()
        }
        // Catch-up marks are written beside the gateway, never inside its payload loop.
        async let marks: Void = persistMarks(markSignals)
        do {
            try await runShards()
        } catch {
            markSignal.finish()
            await marks
            throw error
        }
        markSignal.finish()
        await marks
    }

    private func runShards() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for gateway in gateways {
                group.addTask { try await gateway.run() }
            }
            // Releases held messages when their wait ends; ends only when cancelled.
            group.addTask { [self] in await runProxyTimer(proxyWakes) }
            group.addTask { [self] in
                await withDiscardingTaskGroup { tasks in
                    for await work in sideWork { tasks.addTask { await work() } }
                }
            }
            // Any shard ending (shutdown or a fatal close) stops the adapter.
            defer { sideWorkContinuation.finish() }
            try await group.next()
            group.cancelAll()
            sideWorkContinuation.finish()
            try await group.waitForAll()
        }
    }

    // MARK: ChatPlatform

    /// Ready when every shard's session is ready (identified or resumed).
    public var isConnected: Bool { gateways.allSatisfy { $0.stats.phase == .ready } }

    /// Moves the channel's catch-up mark past a handled message (its history already committed).
    public func handled(_ event: PlatformEvent) async {
        guard case .messageCreated(let message) = event else { return }
        await noteHandled(channelID: message.channel.channelID, messageID: message.messageID)
    }

    /// Moves the catch-up marks past several handled messages under one lock.
    public func handled(_ events: [PlatformEvent]) async {
        noteHandled(events.lazy.compactMap { event -> (String, String)? in
            guard case .messageCreated(let message) = event else { return nil }
            return (message.channel.channelID, message.messageID)
        })
    }

    /// Sends a reply (message reference, never failing on a deleted target), or through the channel webhook.
    public func send(_ text: String, in channel: ChannelRef, replyTo: String?, as identity: PersonaIdentity?) async throws -> SentMessageRef {
        // DM channels have no webhooks: a DM persona speaks plainly (it is the only one there).
        if let identity, !channel.isDirect, wantsIdentity(identity, in: channel.channelID) {
            // A webhook someone deleted answers 404: forget it and create a new one, once.
            for attempt in 0..<2 {
                guard let hook = await webhook(for: channel.channelID, avatar: identity.avatarImage) else { break }
                let thread = webhookThread(channel.channelID)
                do {
                    let message = try await rest.request(
                        IDOnly.self, .executeWebhook(id: hook.id, token: hook.token, threadID: thread),
                        body: DiscordMessageBuilder.webhookExecute(content: text, username: Self.webhookUsername(identity.displayName),
                                                                   avatarURL: identity.avatarURL))
                    rememberOwn(message.id)
                    return SentMessageRef(channel: channel, messageID: message.id, kind: DiscordSentMessage.webhook(hook, threadID: thread))
                } catch let error as DiscordRESTError where error.code == .notFound && attempt == 0 {
                    await forgetWebhook(of: channel.channelID, hook)
                }
            }
            let prefix = "**\(identity.displayName)**: "
            let id = try await createMessage(prefix + text, in: channel.channelID, replyTo: replyTo)
            refreshBudget(channel)
            return SentMessageRef(channel: channel, messageID: id, kind: DiscordSentMessage.prefixed(displayName: identity.displayName))
        }
        let id = try await createMessage(text, in: channel.channelID, replyTo: replyTo)
        refreshBudget(channel)
        return SentMessageRef(channel: channel, messageID: id)
    }

    /// Edits a message (webhook messages through the webhook message endpoint).
    public func edit(_ message: SentMessageRef, text: String) async throws {
        let channelID = message.channel.channelID
        var content = text
        switch message.kind(as: DiscordSentMessage.self) {
        case .webhook(let hook, let thread)?:
            _ = try await rest.request(.editWebhookMessage(id: hook.id, token: hook.token, messageID: message.messageID,
                                                           threadID: thread),
                                       body: DiscordMessageBuilder.edit(content: text))
            return
        case .prefixed(let displayName)?:
            content = "**\(displayName)**: " + text
        case nil:
            break
        }
        _ = try await rest.request(.editMessage(channelID: channelID, messageID: message.messageID),
                                   body: DiscordMessageBuilder.edit(content: content))
        refreshBudget(message.channel)
    }

    /// Shows the typing indicator (lasts about 10 s); failures are ignored.
    public func typing(in channel: ChannelRef) async {
        do {
            _ = try await rest.request(.typing(channelID: channel.channelID))
        } catch {
            logger.debug("typing failed", metadata: ["channel": "\(channel.key)", "error": "\(error)"])
        }
    }

    /// Moderator: MANAGE_CHANNELS, MANAGE_GUILD or ADMINISTRATOR in the channel (roles and overwrites), or a config admin.
    public func isModerator(_ user: ChatUser, in channel: ChannelRef) async -> Bool {
        if configuration.adminUsers.contains(user.id) { return true }
        return state.withLock { s in
            if let cached = s.interactionPermissions[user.id + ":" + channel.channelID],
               clock.now - cached.seen < Self.interactionPermissionTTL, cached.permissions.isModerator {
                return true
            }
            guard let guildID = channel.serverID ?? s.channels[channel.channelID]?.guildId, let guild = s.guilds[guildID] else {
                return false
            }
            let roles = s.memberRoles[MemberKey(guild: guildID, user: user.id)] ?? []
            if !configuration.adminRoles.isDisjoint(with: roles) { return true }
            return Self.permissions(in: channel.channelID, guildID: guildID, guild: guild, userID: user.id, roles: roles,
                                    channels: s.channels).isModerator
        }
    }

    /// How long permissions resolved for an interaction stand in for our own computation: a demoted moderator
    /// loses them within this time even when no gateway event says so.
    static let interactionPermissionTTL: Duration = .seconds(60)

    // MARK: Events

    /// Handles one decoded gateway payload as if the gateway had delivered it (benchmarks and tests).
    /// Work the payload starts runs before this returns.
    public func ingest(_ payload: GatewayPayload) async {
        let started = Mutex<[@Sendable () async -> Void]>([])
        await handle(payload, shard: gateway.configuration.shardID, holdingWake: false) { work in started.withLock { $0.append(work) } }
        let works = started.withLock { $0 }
        await withDiscardingTaskGroup { tasks in
            for work in works { tasks.addTask { await work() } }
        }
    }

    /// Handles a payload in the shard's read loop; waits only while the event queue is full. Chatter that goes
    /// straight on is queued without waking the router: the read loop wakes it once it has handled what it had
    /// received (`DiscordGateway`'s `drained`), so a router faster than the flood takes runs, not single events.
    func handle(_ payload: GatewayPayload, shard: Int) async {
        await handle(payload, shard: shard, holdingWake: true) { [sideWorkContinuation] work in sideWorkContinuation.yield(work) }
    }

    private func handle(_ payload: GatewayPayload, shard: Int, holdingWake: Bool,
                        spawn: (@escaping @Sendable () async -> Void) -> Void) async {
        if holdingWake, !payload.event.isMessageCreate {
            // Anything else may wait on the network or send on its own: what was held back goes first.
            events.wake()
        }
        switch payload.event {
        case .ready(let ready):
            let first = state.withLock { s -> Bool in
                s.botUserID = ready.user.id
                s.botName = ready.user.globalName ?? ready.user.username
                s.applicationID = configuration.applicationID ?? ready.applicationId ?? ready.user.id
                let first = !s.commandsRegistered
                s.commandsRegistered = true
                return first
            }
            logger.info("discord session ready", metadata: ["guilds": "\(ready.guildIds.count)"])
            if first { spawn { [self] in await registerCommands(guildIDs: ready.guildIds) } }
            // A new session (not a resume): Discord does not replay what was missed, so fetch it.
            spawn { [self] in await catchUp(shard: shard) }
        case .guildCreate(let guild):
            state.withLock { s in
                var info = GuildInfo(ownerID: guild.ownerId)
                for role in guild.roles { info.roles[role.id] = role.permissions }
                if let bot = s.botUserID, let member = guild.members.first(where: { $0.user?.id == bot }) {
                    info.ourRoles = member.roles
                }
                for member in guild.members { if let id = member.user?.id { s.memberRoles[MemberKey(guild: guild.id, user: id)] = member.roles } }
                s.guilds[guild.id] = info
                for var channel in guild.channels {
                    channel.guildId = channel.guildId ?? guild.id
                    s.channels[channel.id] = channel
                }
            }
        case .channelUpdate(let channel):
            state.withLock { s in
                s.interactionPermissions.removeAll()
                var channel = channel
                channel.guildId = channel.guildId ?? s.channels[channel.id]?.guildId
                s.channels[channel.id] = channel
            }
        case .threadListSync(let sync):
            // Threads we gained access to (or all active ones of a guild): messages in them name their parent.
            state.withLock { s in
                for var thread in sync.threads {
                    thread.guildId = thread.guildId ?? sync.guildId
                    s.channels[thread.id] = thread
                }
            }
        case .threadDelete(let thread):
            _ = state.withLock { s in s.channels.removeValue(forKey: thread.id) }
        case .roleUpdate(let event):
            state.withLock { s in
                s.interactionPermissions.removeAll()
                s.guilds[event.guildId, default: GuildInfo()].roles[event.role.id] = event.role.permissions
            }
        case .roleDelete(let event):
            state.withLock { s in
                s.interactionPermissions.removeAll()
                _ = s.guilds[event.guildId]?.roles.removeValue(forKey: event.roleId)
            }
        case .guildMemberUpdate(let member):
            state.withLock { s in
                s.interactionPermissions.removeAll()
                s.memberRoles[MemberKey(guild: member.guildId, user: member.user.id)] = member.roles
            }
        case .guildUpdate(let guild):
            // Owner change or role edits: recompute from the new facts, forget what interactions told us.
            state.withLock { s in
                s.interactionPermissions.removeAll()
                var info = s.guilds[guild.id] ?? GuildInfo()
                info.ownerID = guild.ownerId
                if !guild.roles.isEmpty {
                    info.roles = [:]
                    for role in guild.roles { info.roles[role.id] = role.permissions }
                }
                s.guilds[guild.id] = info
            }
        case .messageCreate(let message):
            // Held where proxies post; the catch-up mark moves in `handled(_:)`, once the router has handled it.
            switch arrival(message) {
            case .passesOn(let event) where holdingWake: await events.sendHoldingWake(.messageCreated(event))
            case .passesOn(let event): await events.send(.messageCreated(event))
            case .actions(let actions):
                if holdingWake { events.wake() }
                await perform(actions, spawn: spawn)
            }
        case .messageUpdate(let update):
            let own = state.withLock { s in
                s.ownMessageIDs.contains(update.id) || update.author?.id == s.botUserID
                    || update.webhookId.map { s.webhooks.isOurs($0) } == true
            }
            // No author, no edit: only the original speaker may change a stored message (the store checks it).
            guard !own, let content = update.content, let author = update.author else { return }
            // A message still held for a proxy has not gone on yet: the edit changes what will.
            guard !proxyHeldEdit(update) else { return }
            await events.send(.messageEdited(channel: channelRef(update.channelId, guildID: update.guildId), messageID: update.id,
                                               newText: content, editorID: author.id))
        case .messageDelete(let delete):
            // A held original was never passed on: its deletion is not either.
            guard await proxyDeletionPassesOn(delete) else { return }
            await events.send(.messageDeleted(channel: channelRef(delete.channelId, guildID: delete.guildId), messageID: delete.id))
        case .interactionCreate(let interaction):
            spawn { [self] in await handleInteraction(interaction) }
        case .reactionAdd(let reaction):
            await handleReaction(reaction)
        case .hello, .heartbeatRequest, .heartbeatAck, .reconnect, .invalidSession, .resumed, .unknownDispatch, .unknownOpcode:
            break
        }
    }

    /// The channel as Core sees it: a thread names its parent (whose personas and settings it inherits), and a
    /// channel outside any guild is a DM (Discord's DM channel is one per user, so its key is per user).
    func channelRef(_ channelID: String, guildID: String?) -> ChannelRef {
        state.withLock { s in Self.channelRef(channelID, guildID: guildID, in: &s) }
    }

    private static func channelRef(_ channelID: String, guildID: String?, in s: inout State) -> ChannelRef {
        let key = ChannelRefKey(channel: channelID, guild: guildID)
        if let made = s.channelRefs[key] { return made }
        let known = s.channels[channelID]
        let guild = guildID ?? known?.guildId
        let made = ChannelRef(platform: name, channelID: channelID, serverID: guild, channelName: known?.name,
                              parentID: known.flatMap { $0.isThread ? $0.parentId : nil }, isDirect: guild == nil)
        // Bounded: a bridge in very many channels makes some again rather than growing the cache without limit.
        if s.channelRefs.count >= 16_384 { s.channelRefs.removeAll(keepingCapacity: true) }
        s.channelRefs[key] = made
        return made
    }

    /// Converts a gateway or REST message; nil for messages to ignore entirely.
    func incoming(_ message: DiscordMessage) -> IncomingMessage? {
        // One lock for everything the conversion reads: it runs for every message of a flood.
        incoming(message, state.withLock { s in Self.conversionFacts(message, in: &s) })
    }

    /// A message the hold lets go, converted and noted as delivered (for the catch-up mark).
    func passOn(_ message: DiscordMessage) -> IncomingMessage {
        let facts = state.withLock { s in Self.conversionFacts(message, in: &s) }
        noteDelivered(message)
        return incoming(message, facts)
    }

    /// What converting a message reads from the adapter's state.
    struct ConversionFacts {
        var bot: String?
        var botName: String?
        var own: Bool
        var channel: ChannelRef
    }

    /// Reads the conversion's facts, and keeps the member's roles the message carries (commands check them); `own`
    /// when the caller has worked it out under the same lock already.
    static func conversionFacts(_ message: DiscordMessage, own: Bool? = nil, in s: inout State) -> ConversionFacts {
        if let roles = message.memberRoles, let guild = message.guildId { s.memberRoles[MemberKey(guild: guild, user: message.author.id)] = roles }
        return ConversionFacts(bot: s.botUserID, botName: s.botName, own: own ?? isOwn(message, in: s),
                               channel: channelRef(message.channelId, guildID: message.guildId, in: &s))
    }

    /// Whether the bridge sent the message: its account, a message id it sent, or one of its webhooks.
    static func isOwn(_ message: DiscordMessage, in s: State) -> Bool {
        if message.author.id == s.botUserID { return true }
        // The bridge posts as its bot account or through a webhook, so a message from neither (a human's, nearly
        // every message of a flood) needs no look-up among the ids it sent.
        guard message.webhookId != nil || message.author.bot == true else { return false }
        return s.ownMessageIDs.contains(message.id) || message.webhookId.map { s.webhooks.isOurs($0) } == true
    }

    /// The message as Core sees it, from the facts read under the lock.
    func incoming(_ message: DiscordMessage, _ facts: ConversionFacts) -> IncomingMessage {
        let (bot, botName, own, channel) = (facts.bot, facts.botName, facts.own, facts.channel)
        var text = message.content
        var mentionsUs = message.guildId == nil && !own
        if let bot {
            if message.mentions?.contains(where: { $0.id == bot }) == true { mentionsUs = true }
            // Most chatter has no "<@" at all: a byte scan spares it the Foundation string searches below.
            if Self.mayHoldMention(text) {
                if text.contains("<@\(bot)>") || text.contains("<@!\(bot)>") { mentionsUs = true }
                let name = "@" + (botName ?? "bot")
                text = text.replacingOccurrences(of: "<@\(bot)>", with: name).replacingOccurrences(of: "<@!\(bot)>", with: name)
            }
        }
        let author = ChatUser(id: message.author.id,
                              displayName: message.memberNick ?? message.author.globalName ?? message.author.username ?? message.author.id,
                              isBot: message.author.bot == true || message.webhookId != nil
                                  || configuration.bots.contains(message.author.id))
        var incoming = IncomingMessage(channel: channel, author: author,
                                       messageID: message.id, text: text, replyTo: message.referencedMessageId,
                                       mentionsUs: mentionsUs, isOwnMessage: own, timestamp: message.timestamp)
        incoming.attachments = message.attachments.map {
            ChatAttachment(url: $0.url, filename: $0.filename, size: $0.size, contentType: $0.contentType)
        }
        return incoming
    }

    /// Whether the text contains "<@" anywhere (a user mention may be written there).
    static func mayHoldMention(_ text: String) -> Bool {
        var previous: UInt8 = 0
        for byte in text.utf8 {
            if previous == UInt8(ascii: "<") && byte == UInt8(ascii: "@") { return true }
            previous = byte
        }
        return false
    }

    // MARK: Sending helpers

    private struct IDOnly: Decodable { var id: String }
    private struct WebhookBody: Decodable { var id: String; var token: String? }

    private func createMessage(_ text: String, in channelID: String, replyTo: String?) async throws -> String {
        let message = try await rest.request(IDOnly.self, .createMessage(channelID: channelID),
                                             body: DiscordMessageBuilder.create(content: text, replyTo: replyTo))
        rememberOwn(message.id)
        return message.id
    }

    private func rememberOwn(_ id: String) {
        state.withLock { s in
            guard s.ownMessageIDs.insert(id).inserted else { return }
            s.ownMessageOrder.append(id)
            if s.ownMessageOrder.count > 4096 {
                for id in s.ownMessageOrder.prefix(1024) { s.ownMessageIDs.remove(id) }
                s.ownMessageOrder.removeFirst(1024)
            }
        }
    }

    static func webhookUsername(_ name: String) -> String {
        // Webhook names may not contain "discord" or "clyde" and are 1-80 characters.
        var cleaned = name.replacingOccurrences(of: "discord", with: "d1scord", options: .caseInsensitive)
            .replacingOccurrences(of: "clyde", with: "clyd3", options: .caseInsensitive)
        if cleaned.isEmpty { cleaned = "persona" }
        return String(cleaned.prefix(80))
    }

    private func wantsIdentity(_ identity: PersonaIdentity, in channelID: String) -> Bool {
        if identity.avatarURL != nil || identity.avatarImage != nil { return true }
        // A thread speaks as its parent channel's scene does.
        let host = webhookHost(channelID)
        return configuration.boundChannels.contains { ($0.channelID == channelID || $0.channelID == host) && $0.multiplePersonas }
    }

    /// For a thread, webhooks live on the parent channel and messages carry `thread_id`.
    private func webhookThread(_ channelID: String) -> String? {
        state.withLock { s in
            guard let channel = s.channels[channelID], channel.isThread, channel.parentId != nil else { return nil }
            return channelID
        }
    }

    /// The channel's webhook: cached, stored, or created once; nil when webhooks are off or not permitted.
    private func webhookHost(_ channelID: String) -> String {
        state.withLock { s in
            if let channel = s.channels[channelID], channel.isThread, let parent = channel.parentId { return parent }
            return channelID
        }
    }

    private func forgetWebhook(of channelID: String, _ hook: DiscordWebhook) async {
        let hostID = webhookHost(channelID)
        logger.warning("discord webhook is gone; creating a new one", metadata: ["channel": "\(hostID)"])
        guard state.withLock({ $0.webhooks.forget(hook, of: hostID) }) else { return }
        do {
            try await store.setState(nil, for: "discord.webhook." + hostID)
        } catch {
            // The stale webhook stays stored; the next start finds it gone (404) and forgets it again.
            logger.warning("could not forget the stored webhook", metadata: ["channel": "\(hostID)", "error": "\(error)"])
        }
    }

    /// The channel's webhook, created on first use (with `avatar` as its picture, if given).
    private func webhook(for channelID: String, avatar: [UInt8]? = nil) async -> DiscordWebhook? {
        guard configuration.useWebhooks else { return nil }
        let hostID = webhookHost(channelID)
        switch state.withLock({ $0.webhooks.lookup(hostID) }) {
        case .known(let hook): return hook
        case .fallBack: return nil
        case .unknown: return await webhookCreation.run(key: hostID) { [self] in await loadOrCreateWebhook(hostID, avatar: avatar) }
        }
    }

    private func loadOrCreateWebhook(_ channelID: String, avatar: [UInt8]? = nil) async -> DiscordWebhook? {
        if let known = state.withLock({ $0.webhooks.webhook(of: channelID) }) { return known }
        let key = "discord.webhook." + channelID
        // The webhook token is a credential: sealed at rest when PB_STATE_KEY is set (one that fails to open is
        // replaced by a new webhook).
        do {
            if let stored = try await store.secretState(for: key), let hook = DiscordWebhook(stored: stored) {
                state.withLock { $0.webhooks.remember(hook, for: channelID) }
                return hook
            }
        } catch {
            logger.warning("could not read the stored webhook; creating a new one",
                           metadata: ["channel": "\(channelID)", "error": "\(error)"])
        }
        let permitted = state.withLock { s -> Bool? in
            guard let bot = s.botUserID, let guildID = s.channels[channelID]?.guildId, let guild = s.guilds[guildID] else { return nil }
            return Self.permissions(in: channelID, guildID: guildID, guild: guild, userID: bot, roles: guild.ourRoles,
                                    channels: s.channels).contains(.manageWebhooks)
        }
        if permitted == false {
            fallBack(channelID, reason: "the bot lacks the MANAGE_WEBHOOKS permission in this channel")
            return nil
        }
        do {
            let body = try await rest.request(WebhookBody.self, .createWebhook(channelID: channelID),
                                              body: DiscordMessageBuilder.createWebhook(name: configuration.webhookName, avatarPNG: avatar))
            guard let token = body.token else {
                fallBack(channelID, reason: "the created webhook has no token")
                return nil
            }
            let hook = DiscordWebhook(id: body.id, token: token)
            do {
                try await store.setSecretState(hook.stored, for: key)
            } catch {
                // Used for this run all the same; the next start creates another one.
                logger.warning("could not store the new webhook", metadata: ["channel": "\(channelID)", "error": "\(error)"])
            }
            state.withLock { $0.webhooks.remember(hook, for: channelID) }
            logger.info("discord webhook created", metadata: ["channel": "\(channelID)"])
            return hook
        } catch let error as DiscordRESTError where error.code == .forbidden {
            fallBack(channelID, reason: "Discord refused to create a webhook (missing MANAGE_WEBHOOKS)")
            return nil
        } catch {
            logger.warning("discord webhook creation failed; sending plain messages", metadata: ["channel": "\(channelID)", "error": "\(error)"])
            return nil
        }
    }

    private func fallBack(_ channelID: String, reason: String) {
        let first = state.withLock { $0.webhooks.fallBack(channelID) }
        if first {
            logger.warning("discord personas fall back to name-prefixed plain messages",
                           metadata: ["channel": "\(channelID)", "reason": "\(reason)"])
        }
    }

    static func permissions(in channelID: String, guildID: String, guild: GuildInfo, userID: String, roles: [String],
                            channels: [String: DiscordChannel]) -> DiscordPermissions {
        var channel = channels[channelID]
        // Threads take their parent channel's overwrites.
        if let c = channel, c.isThread, let parent = c.parentId { channel = channels[parent] ?? c }
        return DiscordPermissions.compute(guildID: guildID, ownerID: guild.ownerID, userID: userID, memberRoleIDs: roles,
                                          rolePermissions: guild.roles, overwrites: channel?.overwrites ?? [])
    }
}

/// Passes a gateway's payloads to the adapter that owns the gateway, without keeping it alive.
final class PayloadSink: Sendable {
    private struct Target: @unchecked Sendable {
        // Safe: a weak reference to a Sendable class, only read and written under the mutex.
        weak var platform: DiscordPlatform?
    }
    private let target = Mutex(Target())

    func attach(_ platform: DiscordPlatform) {
        target.withLock { $0.platform = platform }
    }

    func deliver(_ payload: GatewayPayload, shard: Int) async {
        guard let platform = target.withLock({ $0.platform }) else { return }
        await platform.handle(payload, shard: shard)
    }
}

/// Runs at most one creation per key at a time; callers for the same key share the result.
final class WebhookCreation: Sendable {
    private let running = Mutex<[String: Task<DiscordWebhook?, Never>]>([:])

    func run(key: String, _ body: @escaping @Sendable () async -> DiscordWebhook?) async -> DiscordWebhook? {
        let task = running.withLock { tasks in
            if let existing = tasks[key] { return existing }
            // Unstructured on purpose: callers for the same key share one creation, so it is no one caller's child
            // and a caller that is cancelled must not cancel it for the others.
            let task = Task { await body() }
            tasks[key] = task
            return task
        }
        let result = await task.value
        running.withLock { tasks in
            if tasks[key] == task { tasks[key] = nil }
        }
        return result
    }
}
