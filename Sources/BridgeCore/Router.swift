import BridgeConfig
import Foundation
import Logging
import ModelClient
import ServiceLifecycle
import Storage
import Synchronization

/// Connects platforms to personas: records history, runs commands and the trigger policy, claims each message
/// once in the store, assembles the prompt, streams the model's reply into the channel.
///
/// Run it as a `Service` next to the platforms' own services; it reads every platform's `events` and handles
/// each channel's events in order (channels run concurrently).
public final class Router: Service, Sendable {
    private struct State {
        var policy = TriggerPolicy()
        /// Group-scene activation state per channel (last speaker, pool, bot turns); see `Router+Scenes`.
        var scenes = SceneActivation()
        var assembler: ContextAssembler
        var anchors: [String: Int64] = [:]
        var schedulers: [String: ChannelEditScheduler] = [:]
        var random: any RandomNumberGenerator
        /// Set when graceful shutdown starts: messages are still recorded but trigger nothing.
        var draining = false
        /// Set when the grace period is over: model streams still running are cut off.
        var interrupted = false
        var activeStreams: [Int: AsyncThrowingStream<ModelEvent, any Error>.Continuation] = [:]
        var nextStreamID = 0
        /// Channel settings read recently (`nil` inside: none stored), so chatter does not read the store per message.
        var settingsCache: [ChannelKey: CachedSettings] = [:]
    }

    /// How long a cached channel-settings read is trusted; the router's own changes invalidate it at once,
    /// another process's changes show up after this. Not shorter: with 10,000 channels taking turns, 2 s made
    /// nearly every message a store read.
    static let settingsCacheLifetime: Duration = .seconds(10)

    /// A channel's stored settings as last read, and what the quiet path derived from them.
    struct CachedSettings {
        var settings: ChannelSettings?
        var readAt: Duration
        var quietPlan: QuietPlan?
    }

    /// What `quietMessage` needs of a channel: nothing but its personas' names, or the full path.
    enum QuietPlan {
        case fullPath
        case candidates([TriggerPolicy.Candidate])
    }
    /// Events taken from one platform but not yet handled, before the pump stops reading the platform's stream.
    /// A mention waits behind at most this many (plus the platform's queue), so it is kept small: 512 events are
    /// about 13 ms of work on one core, and the pump refills in runs of half of it.
    static let backlogLimit = 512

    private let configuration: RouterConfiguration
    private let model: any ChatModel
    private let store: any Store
    let platforms: [any ChatPlatform]
    private let clock: ElapsedClock
    private let logger: Logger
    private let state: Mutex<State>
    /// Group commit for chatter; claims and reply rows bypass it and go straight to `store`.
    let recorder: HistoryRecorder
    /// Budget notices sent per subject in this process: replies in one channel run side by side, so the check
    /// and the record of "noticed" must be one step, not a store read racing another reply's store write.
    let budgetNotices = Mutex<[String: Date]>([:])
    /// Replies running per channel, which `regenerate` and `continue` wait for.
    let replies = ReplyTracker()
    /// Streams `stop` can end and the latest reply per channel, for the player controls.
    let controls = ReplyControls()
    let metrics: BridgeMetrics
    let budgetPolicy: BudgetPolicy
    /// Scene lore per channel and the personas imported from chat.
    let lore = RouterLore()
    /// Messages the pumps recorded themselves as chatter nothing can answer (`quietMessage`); tests and benchmarks.
    let quietRecorded = Atomic<Int>(0)
    /// Long-term memory work, run in the background by `run()`.
    let memorySummarizer: MemorySummarizer
    /// When a moderator was last told why a mature persona keeps quiet, per channel and persona (router clock).
    let matureNotices = Mutex<[String: Duration]>([:])
    /// Relay bots' rules and what the bridge sent lately (`Router+Relays`).
    let relays: RouterRelays

    /// Creates a router.
    ///
    /// - Parameters:
    ///   - clock: drives cooldowns and edit scheduling (a test clock in tests).
    ///   - random: the talkativeness dice.
    public init(configuration: RouterConfiguration, model: any ChatModel, store: any Store,
                platforms: [any ChatPlatform], clock: any Clock<Duration>, random: some RandomNumberGenerator & Sendable = SystemRandomNumberGenerator(),
                metrics: BridgeMetrics = BridgeMetrics(), logger: Logger) {
        self.configuration = configuration
        self.metrics = metrics
        self.budgetPolicy = BudgetPolicy(settings: configuration.budgets)
        self.model = model
        self.store = store
        self.platforms = platforms
        self.clock = ElapsedClock(clock)
        self.logger = logger
        let budget = TokenBudget(maxOutputTokens: configuration.parameters.maxOutputTokens,
                                 safetyMargin: configuration.safetyMarginTokens)
        self.state = Mutex(State(assembler: ContextAssembler(budget: budget), random: random))
        self.recorder = HistoryRecorder(store: store, logger: logger)
        self.memorySummarizer = MemorySummarizer(model: model, clock: self.clock, retryDelay: configuration.memoryRetryDelay)
        self.relays = RouterRelays(configuration.relays)
    }

    /// Creates a router on the continuous clock.
    public convenience init(configuration: RouterConfiguration, model: any ChatModel, store: any Store,
                            platforms: [any ChatPlatform], metrics: BridgeMetrics = BridgeMetrics(), logger: Logger) {
        self.init(configuration: configuration, model: model, store: store, platforms: platforms,
                  clock: ContinuousClock(), metrics: metrics, logger: logger)
    }

    /// Handles events until every platform's event stream ends (or the task is cancelled).
    ///
    /// On graceful shutdown it stops taking events, lets replies under way run for the configured grace
    /// period, then cuts the rest off (each ends with its partial text and a notice) and returns.
    public func run() async throws {
        await refreshImportedPersonas(logger: logger)
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withDiscardingTaskGroup { pumps in
                    for platform in self.platforms {
                        pumps.addTask { await self.pump(platform) }
                    }
                }
                return true
            }
            group.addTask {
                do { try await gracefulShutdown() } catch { return false }
                self.beginDraining()
                do { try await self.clock.sleep(until: self.clock.now + self.configuration.shutdownGrace) } catch { return false }
                self.interruptReplies()
                return false
            }
            group.addTask {
                await self.pruneUsagePeriodically()
                return false
            }
            group.addTask {
                await self.memorySummarizer.run { job in await self.runMemory(job) }
                return false
            }
            // Only the pumps ending (their replies recorded) ends the router; the other tasks never cancel them.
            while let pumpsEnded = await group.next() {
                if pumpsEnded { group.cancelAll() }
            }
        }
    }

    /// Deletes usage older than every budget window, now and every six hours, until cancelled.
    private func pruneUsagePeriodically() async {
        while !Task.isCancelled {
            do {
                let removed = try await store.pruneUsage(before: Date().addingTimeInterval(-2 * BudgetPolicy.day))
                if removed > 0 { logger.debug("pruned old usage records", metadata: ["removed": "\(removed)"]) }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("pruning usage records failed", metadata: ["error": "\(error)"])
            }
            do { try await clock.sleep(until: clock.now + .seconds(6 * 3_600)) } catch { return }
        }
    }

    /// Stops triggering replies; messages still queued are only recorded.
    func beginDraining() {
        let active = state.withLock { s in
            s.draining = true
            return s.activeStreams.count
        }
        logger.info("shutting down: no new replies", metadata: [
            "in-flight": "\(active)", "grace-seconds": "\(configuration.shutdownGrace.components.seconds)",
        ])
    }

    /// Ends every model stream still running; each reply then finishes with its partial text and a notice.
    func interruptReplies() {
        let streams = state.withLock { s in
            s.interrupted = true
            let streams = Array(s.activeStreams.values)
            s.activeStreams.removeAll()
            return streams
        }
        if !streams.isEmpty {
            logger.warning("grace period over: cutting off replies", metadata: ["replies": "\(streams.count)"])
        }
        for stream in streams { stream.finish(throwing: ReplyInterruption()) }
    }

    /// Whether graceful shutdown has started.
    public var isDraining: Bool { state.withLock { $0.draining } }

    /// Decides who of a group scene answers, with the router's injected generator (so seeded tests repeat).
    func activateScene(_ message: TriggerPolicy.Message, members: [SceneActivation.Member], rules: SceneActivation.Rules,
                       now: Duration) -> SceneActivation.Outcome {
        state.withLock { s in s.scenes.activate(message, members: members, rules: rules, now: now, using: &s.random) }
    }

    /// The persona that replied last in a channel, as the scene state knows it.
    func lastSceneSpeaker(in channel: ChannelRef) -> String? {
        state.withLock { s in s.scenes.lastSpeaker(in: channel.key) }
    }

    /// Forwards a model stream, measuring time to first token, and registers it so shutdown can cut it off.
    /// With a `channel`, `stop` in that channel can end it (with `ReplyStopped`); `firstToken` receives the time
    /// to first text.
    private func guarded(_ upstream: AsyncThrowingStream<ModelEvent, any Error>, started: Duration,
                         history: StreamingHistory? = nil, channel: String? = nil, requester: String? = nil,
                         firstToken: FirstTokenMark? = nil) -> AsyncThrowingStream<ModelEvent, any Error>
    {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: ModelEvent.self, throwing: (any Error).self)
        let id: Int? = state.withLock { s in
            if s.interrupted { return nil }
            s.nextStreamID += 1
            s.activeStreams[s.nextStreamID] = continuation
            return s.nextStreamID
        }
        guard let id else {
            continuation.finish(throwing: ReplyInterruption())
            return stream
        }
        let metrics = self.metrics
        let clock = self.clock
        // Unstructured on purpose: the reply reads the returned stream, and `interruptReplies` must be able to end
        // it at once while the upstream still waits for the model; `onTermination` cancels the forwarder.
        let forwarder = Task {
            var sawText = false
            do {
                for try await event in upstream {
                    if !sawText, case .delta = event {
                        sawText = true
                        metrics.modelFirstToken(clock.now - started)
                        firstToken?.mark(clock.now - started)
                    }
                    if case .delta(let piece) = event { history?.delta(piece) }
                    continuation.yield(event)
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        // Stopping finishes the stream at once with the partial text; ending it cancels the forwarder, which
        // cancels the model request (the server sees the connection close).
        let controls = self.controls
        let stopToken = channel.map { channel in
            controls.started(in: channel, requester: requester) { stopped in continuation.finish(throwing: stopped) }
        }
        continuation.onTermination = { [weak self] _ in
            forwarder.cancel()
            self?.state.withLock { s in _ = s.activeStreams.removeValue(forKey: id) }
            if let channel, let stopToken { controls.finished(stopToken, in: channel) }
        }
        return stream
    }

    private func pump<P: ChatPlatform>(_ platform: P) async {
        var logger = self.logger
        logger[metadataKey: "platform"] = "\(platform.platformName)"
        let name = platform.platformName
        let metrics = self.metrics
        // Events received but not yet handled, across this platform's channels; bounded, so a flood the
        // store cannot keep up with stops the pump reading instead of growing memory.
        let depthGauge = metrics.queueDepthGauge(platform: name, queue: "router")
        let backlog = BacklogGate(limit: Self.backlogLimit) { depth in depthGauge.record(depth) }
        // Platforms with edits stream several replies per channel side by side; line platforms answer in turn.
        let cap = platform.capabilities.canEdit ? max(1, configuration.maxConcurrentReplies) : 1
        let clock = self.clock
        // One wrapper for the platform's lifetime, not one per event.
        let metered = meteredSender(platform)
        await withDiscardingTaskGroup { group in
            var mailboxes: [String: ChannelMailbox] = [:]
            // Events taken but not yet posted to their channel, per channel in arrival order: a batch from the
            // platform reaches each channel as one step, not one per event.
            var pending: [String: [PlatformEvent]] = [:]
            var pendingOrder: [String] = []
            func pass(into group: inout DiscardingTaskGroup) {
                for key in pendingOrder {
                    guard let events = pending[key], let mailbox = mailboxes[key] else { continue }
                    if mailbox.post(events) {
                        group.addTask {
                            await self.work(mailbox, platform: platform, metered: metered, backlog: backlog, clock: clock)
                        }
                    }
                }
                pending.removeAll(keepingCapacity: true)
                pendingOrder.removeAll(keepingCapacity: true)
            }
            func take(_ batch: [PlatformEvent], into group: inout DiscardingTaskGroup) async {
                // Chatter nothing can answer, recorded here without a channel worker (see `quietMessage`).
                var quiet: [PlatformEvent] = []
                for event in batch {
                    let key = event.channelKey
                    // Only while the channel has nothing in hand: its history and trigger state stay in order.
                    if pending[key] == nil, mailboxes[key]?.isIdle ?? true, let message = quietMessage(event) {
                        metered.received?.increment()
                        quietRecorded.add(1, ordering: .relaxed)
                        if !recorder.recordIfRoom(message) { await recorder.record(message) }
                        quiet.append(event)
                        continue
                    }
                    if mailboxes[key] == nil {
                        var channelLogger = logger
                        channelLogger[metadataKey: "channel"] = "\(key)"
                        mailboxes[key] = ChannelMailbox(slots: ReplySlots(capacity: cap), logger: channelLogger)
                    }
                    if !backlog.tryEnter() {
                        // Full: what is held here must reach the workers first, or they could not make room.
                        pass(into: &group)
                        await backlog.enter()
                    }
                    if pending[key]?.append(event) == nil {
                        pending[key] = [event]
                        pendingOrder.append(key)
                    }
                }
                pass(into: &group)
                if !quiet.isEmpty {
                    let done = quiet
                    await recorder.whenCommitted { await platform.handled(done) }
                }
            }
            // On graceful shutdown stop taking events; replies already under way still finish (final edits go out),
            // and events already posted are still handled. The queue cannot fail: it only ends.
            for await batch in platform.events.batches(max: Self.batchLimit).cancelOnGracefulShutdown() {
                await take(batch, into: &group)
            }
        }
    }

    /// Most events the pump takes from a platform's queue in one step.
    static let batchLimit = 256

    /// Drains one channel's mailbox: its events in order; a triggered reply runs on beside the next events. Ends
    /// when the mailbox is empty (and its replies are done); the pump starts another worker for later events.
    private func work<P: ChatPlatform>(_ mailbox: ChannelMailbox, platform: P, metered: ObservedSender,
                                       backlog: BacklogGate, clock: ElapsedClock) async {
        let recorder = self.recorder
        let slots = mailbox.slots
        let logger = mailbox.logger
        await withDiscardingTaskGroup { replies in
            while let events = mailbox.take() {
                // The platform may persist its position (a catch-up mark) only once an event is handled: its
                // history committed and, if it triggered a reply, that reply done. Events without a reply are
                // acknowledged together, in order, before the next reply's.
                var handled: [PlatformEvent] = []
                for event in events {
                    if case .interaction(let request) = event {
                        // Answered beside the channel's events: regenerate and continue wait for the channel's
                        // replies, which must not wait behind them.
                        replies.addTask {
                            _ = await self.intake(.interaction(request), from: metered, logger: logger)
                            // Reactions arrive in a sync batch, whose position may be stored once they are handled.
                            await platform.handled(event)
                        }
                        backlog.leave()
                        continue
                    }
                    // Chatter nothing can answer while the channel was busy when it came: recorded in turn here.
                    if let message = quietMessage(event) {
                        metered.received?.increment()
                        quietRecorded.add(1, ordering: .relaxed)
                        if !recorder.recordIfRoom(message) { await recorder.record(message) }
                        handled.append(event)
                        backlog.leave()
                        continue
                    }
                    if let job = await intake(event, from: metered, logger: logger) {
                        if !handled.isEmpty {
                            let done = handled
                            handled.removeAll()
                            await recorder.whenCommitted { await platform.handled(done) }
                        }
                        if !(await slots.tryAcquire()) {
                            await Self.waitWithTyping(for: slots, in: event.channel, platform: platform, clock: clock)
                        }
                        let ticket = await job.scheduler.takeTurnTicket()
                        replies.addTask {
                            await job.run(ticket)
                            await slots.release()
                            await recorder.whenCommitted { await platform.handled(event) }
                        }
                    } else {
                        handled.append(event)
                    }
                    backlog.leave()
                }
                if !handled.isEmpty {
                    let done = handled
                    await recorder.whenCommitted { await platform.handled(done) }
                }
            }
        }
    }

    /// A reply decided on and claimed, still to be streamed.
    struct ReplyJob: Sendable {
        /// The channel's edit scheduler (which also orders first messages).
        let scheduler: ChannelEditScheduler
        /// Streams and records the reply; the argument is its first-message ticket.
        let run: @Sendable (Int?) async -> Void
    }

    /// Waits for a free reply slot in a channel, keeping the typing indicator up (Discord's lasts about 10 s).
    private static func waitWithTyping(for slots: ReplySlots, in channel: ChannelRef, platform: some PlatformSender,
                                       clock: ElapsedClock) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await slots.acquire() }
            group.addTask {
                while !Task.isCancelled {
                    await platform.typing(in: channel)
                    do { try await clock.sleep(until: clock.now + .seconds(8)) } catch { return }
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// Handles one event completely (history committed, command or reply), outside the pumps (tests).
    func handle(_ event: PlatformEvent, from platform: any PlatformSender) async {
        if let job = await intake(event, from: meteredSender(platform)) { await job.run(nil) }
        await recorder.flush()
    }
    /// Waits until every message recorded so far is committed; call before reading history.
    func flushHistory() async {
        await recorder.flush()
    }

    /// Forgets the cached settings of a channel after the router changed them.
    func invalidateSettings(_ key: ChannelKey) {
        _ = state.withLock { s in s.settingsCache.removeValue(forKey: key) }
    }

    /// The channel's stored settings, read from the store at most every `settingsCacheLifetime`.
    func cachedSettings(_ key: ChannelKey) async throws -> ChannelSettings? {
        let now = clock.now
        if let hit = state.withLock({ s in s.settingsCache[key] }), now - hit.readAt < Self.settingsCacheLifetime {
            return hit.settings
        }
        let settings = try await store.channelSettings(for: key)
        state.withLock { s in
            // Bounded: a bridge in very many channels rereads instead of growing the cache without limit.
            if s.settingsCache.count >= 16_384 { s.settingsCache.removeAll(keepingCapacity: true) }
            s.settingsCache[key] = CachedSettings(settings: settings, readAt: now)
        }
        return settings
    }

    /// The message to record when `event` is chatter nothing can answer, nil when the full path must decide:
    /// a new message, not ours, no mention, no reply, no command, settings cached (a thread's parent's too, when
    /// it has none of its own), and no persona of the channel named in it or in a mode that speaks unasked. Such a message only goes to history, so the pump records it
    /// itself, sparing it the channel worker, the backlog and `intake`. The trigger policy still sees it (its
    /// bot-turn count), and decides what the full path would: ignore.
    func quietMessage(_ event: PlatformEvent) -> StoredMessage? {
        guard case .messageCreated(let message) = event, !message.isOwnMessage, !message.mentionsUs, message.replyTo == nil,
              BridgeCommand.parse(message.text, prefix: configuration.commandPrefix) == nil else { return nil }
        // Direct messages (their own persona rules) take the full path, and so do relays' messages, which are
        // credited to their speakers first.
        if message.channel.isDirect || relays.matcher.isRelayed(message) { return nil }
        // A linked scene's channel keys its history by the scene (and may relay): the full path places it.
        if configuration.linkedScene(for: message.channel) != nil { return nil }
        let key = Self.key(message.channel)
        let now = clock.now
        guard var cached = freshSettings(key, now: now) else { return nil }
        // Who could answer depends only on the (immutable) configuration and the stored settings: worked out once
        // per cached settings rather than per message, and kept on the entry of the settings it used.
        var planKey = key
        var planChannel = message.channel
        if cached.settings == nil, let parent = message.channel.parent {
            // A thread with no settings of its own goes by its parent's (`effectiveSettings`). Without a binding of
            // its own its plan is the parent's, kept on the parent's entry, so a change there reaches it at once.
            // With one, the plan would mix the thread's binding with the parent's settings: the full path decides.
            if configuration.hasOwnBinding(message.channel) { return nil }
            planKey = Self.key(parent)
            planChannel = parent
            guard let parentCached = freshSettings(planKey, now: now) else { return nil }
            cached = parentCached
        }
        let plan = cached.quietPlan ?? quietPlan(for: planChannel, stored: cached.settings)
        if cached.quietPlan == nil {
            // Only onto the entry it was worked out from: a fresher read may have replaced it meanwhile.
            state.withLock { s in if s.settingsCache[planKey]?.readAt == cached.readAt { s.settingsCache[planKey]?.quietPlan = plan } }
        }
        guard case .candidates(let candidates) = plan else { return nil }
        guard TriggerPolicy.firstNamed(in: message.text, candidates: candidates) == nil else { return nil }
        let view = TriggerPolicy.Message(channel: message.channel.key, text: message.text, fromBot: message.author.isBot)
        let decision = state.withLock { s in s.policy.decideNamingNone(view, candidates: candidates, now: now, using: &s.random) }
        // Unaddressed, and nobody volunteers: the policy cannot answer. Checked all the same, so a change to the
        // policy that breaks this shows up as a lost reply in the tests rather than silently.
        guard decision.persona == nil else {
            logger.error("the quiet path met a message the trigger policy answers; the full path takes it",
                         metadata: ["message-id": "\(message.messageID)"])
            return nil
        }
        return StoredMessage(
            channel: key, messageID: message.messageID, speakerID: message.author.id, speakerName: message.creditedName ?? message.author.displayName,
            kind: message.author.isBot ? .bot : .human, text: message.text, timestamp: message.timestamp ?? Date(),
            replyToID: message.replyTo)
    }

    /// The cached settings of `key` when they are still trusted (see `settingsCacheLifetime`), else nil.
    private func freshSettings(_ key: ChannelKey, now: Duration) -> CachedSettings? {
        guard let cached = state.withLock({ s in s.settingsCache[key] }), now - cached.readAt < Self.settingsCacheLifetime else {
            return nil
        }
        return cached
    }

    /// Whether a channel's chatter may take the quiet path, and the personas that would have to be named.
    private func quietPlan(for channel: ChannelRef, stored: ChannelSettings?) -> QuietPlan {
        // A group scene rolls every persona's talkativeness on every message: the full path decides.
        if isScene(channel, stored: stored) { return .fullPath }
        var candidates: [TriggerPolicy.Candidate] = []
        for persona in activePersonas(in: channel, stored: stored) {
            let trigger = settings(for: persona, in: channel, stored: stored)
            if trigger.mode == .always || (trigger.mode == .probability && trigger.talkativeness > 0) { return .fullPath }
            candidates.append(TriggerPolicy.Candidate(persona: persona, settings: trigger))
        }
        return .candidates(candidates)
    }

    /// Handles an event up to a claimed reply, which it returns for the caller to run; a recorded message may
    /// still be in the group-commit buffer when this returns.
    /// `platform` is the adapter's sender, already wrapped to count sends and edits; `logger` is the channel's
    /// (one made per event would render its metadata every time).
    func intake(_ event: PlatformEvent, from platform: any PlatformSender, logger channelLogger: Logger? = nil) async -> ReplyJob? {
        let event = placingInLinkedScene(event)
        let logger: Logger
        if let channelLogger {
            logger = channelLogger
        } else {
            var fresh = self.logger
            fresh[metadataKey: "platform"] = "\(platform.platformName)"
            fresh[metadataKey: "channel"] = "\(event.channelKey)"
            logger = fresh
        }
        do {
            switch event {
            case .messageCreated(let message):
                return try await handleMessage(message, from: platform, logger: logger)
            case .messageEdited(let channel, let id, let text, let editor):
                // The edited message may still be buffered; it must be in the table to be edited.
                await recorder.flush()
                if try await !store.applyEdit(in: Self.key(channel), messageID: id, newText: text, by: editor) {
                    logger.debug("edit not applied", metadata: ["message-id": "\(id)", "editor": "\(editor)"])
                }
            case .messageDeleted(let channel, let id):
                await recorder.flush()
                try await store.applyDeletion(in: Self.key(channel), messageID: id)
                try await replyMessageDeleted(id, in: channel, logger: logger)
            case .membership:
                break
            case .interaction(let request):
                // Commands like regenerate wait for replies in the channel; the pump runs these beside its events.
                logger.debug("interaction", metadata: ["command": "\(request.command)", "user": "\(request.user.id)"])
                await answerInteraction(request, platform: platform)
            }
        } catch {
            logger.error("event failed", metadata: ["error": "\(error)"])
        }
        return nil
    }

    static func key(_ channel: ChannelRef) -> ChannelKey {
        if let scene = channel.linkedScene { return ChannelKey(platform: "scene", channelID: scene) }
        return ChannelKey(platform: channel.platform, serverID: channel.serverID, channelID: channel.storageID)
    }

    private func handleMessage(_ message: IncomingMessage, from platform: any PlatformSender, logger: Logger) async throws -> ReplyJob? {
        // Our replies are stored when sent; echoes would duplicate them.
        if message.isOwnMessage { return nil }
        if let counter = (platform as? ObservedSender)?.received {
            counter.increment()
        } else {
            metrics.messageReceived(platform: platform.platformName)
        }
        // A relay's message is credited to the speaker it names (or is an echo of ours, or the relay's own line).
        guard let message = await relayIntake(message, logger: logger) else { return nil }
        let key = Self.key(message.channel)
        if let parsed = BridgeCommand.parse(message.text, prefix: configuration.commandPrefix) {
            // Bots, webhooks and relays never run commands (and get no answer, so two bridges cannot loop on them).
            if message.author.isBot || message.relayedBy != nil {
                logger.info("command from a bot ignored", metadata: ["user": "\(message.author.id)"])
                return nil
            }
            guard try await store.claimAnswer(channel: key, messageID: message.messageID) else { return nil }
            try await runCommand(parsed, message: message, platform: platform)
            return nil
        }
        await recorder.record(StoredMessage(
            channel: key, messageID: message.messageID, speakerID: message.author.id, speakerName: message.creditedName ?? message.author.displayName,
            kind: message.author.isBot ? .bot : .human, text: message.text, timestamp: message.timestamp ?? Date(), replyToID: message.replyTo))
        if message.channel.linkedScene != nil { await relayToLinkedChannels(message, logger: logger) }

        let stored = try await effectiveSettings(for: message.channel)
        await refreshIfUnknown(stored?.personas ?? [], logger: logger)
        let personas = await allowedPersonas(activePersonas(in: message.channel, stored: stored), for: message, platform: platform,
                                             logger: logger)
        var candidates: [TriggerPolicy.Candidate] = []
        for persona in personas {
            candidates.append(TriggerPolicy.Candidate(persona: persona, settings: settings(for: persona, in: message.channel, stored: stored)))
        }
        var repliedPersona: String?
        if let replyTo = message.replyTo, let target = try await store.message(in: key, messageID: replyTo), target.kind == .persona {
            repliedPersona = target.personaName
        }
        if isScene(message.channel, stored: stored) {
            return try await sceneReply(to: message, personas: personas, stored: stored, repliedPersona: repliedPersona,
                                        platform: platform, logger: logger)
        }
        let view = TriggerPolicy.Message(channel: message.channel.key, text: message.text, fromBot: message.author.isBot,
                                         mentionsUs: message.mentionsUs, repliesToPersona: repliedPersona)
        let now = clock.now
        let decision = state.withLock { s in s.policy.decide(view, candidates: candidates, now: now, using: &s.random) }
        logger.debug("trigger decision", metadata: ["message-id": "\(message.messageID)", "decision": "\(decision)"])
        guard let name = decision.persona, let persona = knownPersona(name) else { return nil }
        if isDraining {
            logger.info("not answering: shutting down", metadata: ["message-id": "\(message.messageID)"])
            return nil
        }
        guard try await store.claimAnswer(channel: key, messageID: message.messageID) else {
            logger.info("already answered", metadata: ["message-id": "\(message.messageID)"])
            return nil
        }
        let scheduler = scheduler(for: message.channel, platform: platform)
        let tracked = message.channel.key
        await replies.begin(tracked)
        return ReplyJob(scheduler: scheduler) { [self] turn in
            let progress = ReplyProgress()
            do {
                try await reply(as: persona, in: message.channel, to: message.messageID, platform: platform,
                                requestedBy: message.speaker, progress: progress, turn: turn, cutAtTrigger: true,
                                logger: logger)
            } catch {
                logger.error("event failed", metadata: ["error": "\(error)"])
            }
            await releaseUnanswered(key, message.messageID, progress: progress, logger: logger)
            await replies.end(tracked)
            // However the reply ended, the next one in the channel may send its first message.
            if let turn { await scheduler.passTurn(turn) }
        }
    }

    /// Gives the claim back when nothing reached the platform (the reply failed or was skipped before its first
    /// message), so a restart's catch-up can answer the message instead of treating it as answered forever.
    func releaseUnanswered(_ key: ChannelKey, _ messageID: String, progress: ReplyProgress, logger: Logger) async {
        guard !progress.reachedPlatform else { return }
        do {
            try await store.releaseAnswer(channel: key, messageID: messageID)
            logger.info("nothing was sent; claim released", metadata: ["message-id": "\(messageID)"])
        } catch {
            logger.error("could not release the claim", metadata: ["message-id": "\(messageID)", "error": "\(error)"])
        }
    }

    func activePersonas(in channel: ChannelRef, stored settings: ChannelSettings?) -> [Persona] {
        if channel.isDirect { return directPersona(in: channel, stored: settings).flatMap { knownPersona($0) }.map { [$0] } ?? [] }
        if settings?.personaOff == true { return [] }
        let names = settings?.personas ?? configuration.binding(for: channel)?.personas ?? configuration.defaultPersonas
        return names.compactMap { knownPersona($0) }
    }

    private func settings(for persona: Persona, in channel: ChannelRef, stored: ChannelSettings?) -> TriggerSettings {
        var merged = TriggerSettings.merged(defaults: configuration.trigger, persona: persona.trigger,
                                            channel: configuration.binding(for: channel)?.trigger ?? .init())
        if let stored {
            merged = merged.applying(TriggerOverrides(
                mode: stored.triggerMode.map(TriggerMode.parse), talkativeness: stored.talkativeness,
                cooldownSeconds: stored.cooldownSeconds, maxBotTurns: stored.maxBotTurns, respondToBots: stored.respondToBots))
        }
        return merged
    }

    func scheduler(for channel: ChannelRef, platform: any PlatformSender) -> ChannelEditScheduler {
        state.withLock { s in
            // The platform's own channel: each channel of a linked scene paces its edits on its own.
            if let existing = s.schedulers[channel.platformKey] { return existing }
            var own = channel
            own.linkedScene = nil
            let scheduler = ChannelEditScheduler(channel: own, budgets: platform.editBudgets, elapsed: clock, logger: logger) {
                [platform] ref, text in try await platform.edit(ref, text: text)
            }
            s.schedulers[channel.platformKey] = scheduler
            return scheduler
        }
    }

    /// Streams a reply from `persona` and records it.
    func reply(as persona: Persona, in channel: ChannelRef, to triggerID: String?, platform: any PlatformSender,
               continuation requester: String? = nil, requestedBy user: ChatUser? = nil, progress: ReplyProgress? = nil,
               turn: Int? = nil, cutAtTrigger: Bool = false, alternativesBefore: [String]? = nil,
               logger: Logger) async throws {
        let key = Self.key(channel)
        let scheduler = scheduler(for: channel, platform: platform)
        if isDraining { return }
        if persona.isMature, await !allowsMature(in: channel, platform: platform) {
            // Regenerate, continue and greetings come here without the trigger's filter.
            logger.info("mature persona not answering outside an age-restricted channel", metadata: ["persona": "\(persona.name)"])
            progress?.markReachedPlatform()
            return
        }
        // The trigger and the messages before it may still be buffered: the prompt needs them.
        await recorder.flush()
        var stored = try await store.recentMessages(in: key, limit: configuration.historyLimit)
        if let triggerID, cutAtTrigger {
            // The player deleted their message before the reply started: there is nothing to answer.
            guard try await store.message(in: key, messageID: triggerID) != nil else {
                logger.info("trigger deleted before the reply started; not answering", metadata: ["message-id": "\(triggerID)"])
                progress?.markReachedPlatform()
                return
            }
            stored = Self.history(stored, upTo: triggerID)
        }
        // Players' messages carry their characters' names; `{{user}}` after the history names the speaker's.
        let cast = try await playerCast(stored, in: channel, speaker: user)
        let userPersonas = cast.userPersonas
        let history = cast.history
        let firedLore = try await activateLore(for: persona, in: channel, history: history, user: cast.speaker)
        let speaking = expandingMacros(persona, in: channel, speaker: cast.speaker?.displayName)
        let sceneMemory = await sceneMemoryForReply(key, logger: logger)
        let memoryBlock = sceneMemory.flatMap { MemoryBlock.render($0, cap: configuration.memory.maxTokens, scale: promptScale) }
        let group = try await groupPrompt(speaking: speaking, in: channel)
        let (context, scale) = state.withLock { s in
            let context = s.assembler.assemble(persona: speaking, channel: channel, history: history,
                                               userPersonas: userPersonas, anchor: s.anchors[channel.key],
                                               scene: configuration.binding(for: channel)?.scene,
                                               maxMessages: configuration.historyLimit, lore: firedLore, memory: memoryBlock, group: group)
            s.anchors[channel.key] = context.anchor
            return (context, s.assembler.budget.scale)
        }
        requestMemoryWork(in: channel, anchor: context.anchor, persona: persona, memory: sceneMemory)
        var messages = context.messages
        if let requester {
            messages.append(ChatMessage(role: .user, content: "Continue your last message exactly where it stopped, without repeating it.",
                                        name: requester))
        }
        let overrides = persona.model
        var parameters = configuration.parameters
        parameters.temperature = overrides.temperature ?? parameters.temperature
        parameters.topP = overrides.topP ?? parameters.topP
        parameters.maxOutputTokens = overrides.maxOutputTokens ?? parameters.maxOutputTokens
        let request = ChatRequest(messages: messages, model: configuration.model, parameters: parameters)
        let estimate = Int((Double(context.rawEstimate) * scale).rounded())
        logger.debug("reply", metadata: ["persona": "\(persona.name)", "history": "\(context.historyCount)",
                                         "estimate": "\(estimate)"])
        guard let admission = try await admit(user: user, in: channel, estimatedPromptTokens: estimate,
                                              platform: platform, logger: logger) else {
            // Refused by a budget: the refusal is the answer (a restart must not answer it after all).
            progress?.markReachedPlatform()
            return
        }
        var logger = logger
        logger[metadataKey: "request-id"] = "\(admission.record.requestID)"

        // The reply's history row is written when its first message is sent and kept up to date while it streams.
        let streaming = StreamingHistory(store: store, channel: key, persona: persona, triggerID: triggerID, clock: clock,
                                       logger: logger)
        let notices = ReplyEngine.Notices(cutOff: "(cut off at the length limit — say `\(configuration.commandPrefix) continue` to go on)")
        let engine = ReplyEngine(platform: ObservedSender(platform, onSend: { streaming.sent($0) }), scheduler: scheduler,
                                 notices: notices, logger: logger)
        let identity = self.identity(for: persona)
        metrics.replyStarted(platform: platform.platformName)
        let started = clock.now
        let firstToken = FirstTokenMark()
        let events = guarded(model.stream(request), started: started, history: streaming, channel: channel.key,
                             requester: user?.id, firstToken: firstToken)
        // Counted until its final text is out, not just until the model is done: moving the controls meanwhile
        // would spend the window slot that final text waits for.
        controls.beginDelivery(in: channel.key)
        let outcome = channel.linkedScene == nil
            ? await engine.run(events, in: channel, replyTo: triggerID, as: identity, turn: turn)
            : await streamLinked(events, engine: engine, in: channel, replyTo: triggerID, as: identity, turn: turn,
                                 notices: notices, platform: platform, logger: logger)
        controls.endDelivery(in: channel.key)
        let storedEarly = await streaming.finish()
        let total = clock.now - started
        metrics.modelTotal(total)
        if !outcome.messages.isEmpty { progress?.markReachedPlatform() }
        if let error = outcome.error {
            metrics.replyFailed(platform: platform.platformName,
                                reason: error is ReplyInterruption ? "shutdown" : error is ReplyStopped ? "stopped" : "error")
            // The model provider's own 429 (after the client's retries) counts with the platforms' ones.
            if (error as? ModelError)?.code == .rateLimited { metrics.rateLimited(platform: "model") }
        } else {
            metrics.replyFinished(platform: platform.platformName)
        }

        let now = clock.now
        state.withLock { s in
            if let usage = outcome.usage { s.assembler.budget.calibrate(raw: context.rawEstimate, promptTokens: usage.promptTokens) }
            s.policy.recordReply(channel: channel.key, now: now)
            if !outcome.messages.isEmpty { s.scenes.recordReply(channel: channel.key, persona: persona.name, now: now) }
        }
        do {
            if let first = outcome.messages.first {
                if storedEarly == first.messageID {
                    // The complete text replaces the partial one written while streaming (and its interrupted mark).
                    try await store.applyEdit(in: key, messageID: first.messageID, newText: outcome.text)
                } else if !outcome.text.isEmpty {
                    try await store.insert(StoredMessage(
                        channel: key, messageID: first.messageID, speakerID: "persona:\(persona.name)",
                        speakerName: persona.displayName, kind: .persona, personaName: persona.name, text: outcome.text,
                        timestamp: Date(), replyToID: triggerID))
                }
                try await store.recordReply(ReplyRecord(
                    replyID: first.messageID, channel: key, personaName: persona.name, triggerMessageID: triggerID,
                    messageIDs: outcome.messages.map(\.messageID), createdAt: Date(), wasCutOff: outcome.wasCutOff))
            }
        } catch {
            await recordSpend(admission, outcome: outcome, platform: platform.platformName, logger: logger)
            throw error
        }
        // After the history writes, which commands like `regenerate` read next.
        await recordSpend(admission, outcome: outcome, platform: platform.platformName, logger: logger)
        await recordPrompt(PromptFacts(request: request, context: context, historyAvailable: history.count, scale: scale,
                                       persona: persona, admission: admission, outcome: outcome,
                                       firstToken: firstToken.value, total: total), in: channel, logger: logger)
        if let first = outcome.messages.first {
            await replyFinished(first.messageID, refs: outcome.messages, in: channel, platform: platform,
                                alternativesBefore: alternativesBefore, logger: logger)
        }
    }

    /// History as of a trigger, for replies that run side by side: what people said after it belongs to later
    /// replies; replies to earlier triggers that were stored since then go just before it, as answered earlier.
    static func history(_ stored: [StoredMessage], upTo triggerID: String) -> [StoredMessage] {
        guard let trigger = stored.lastIndex(where: { $0.messageID == triggerID && $0.kind != .persona }) else { return stored }
        var kept = Array(stored[...trigger])
        let laterReplies = stored[(trigger + 1)...].filter { $0.kind == .persona }
        // Replies to this very trigger (earlier personas of a scene's chain) follow it, as they were said.
        kept.insert(contentsOf: laterReplies.filter { $0.replyToID != triggerID }, at: trigger)
        kept.append(contentsOf: laterReplies.filter { $0.replyToID == triggerID })
        return kept
    }

    static func entry(_ message: StoredMessage) -> HistoryEntry {
        let speaker: HistoryEntry.Speaker
        switch message.kind {
        case .persona, .otherPersona:
            speaker = .persona(name: message.personaName ?? message.speakerName, displayName: message.speakerName)
        case .bot:
            speaker = .bot(id: message.speakerID, name: message.speakerName)
        case .human, .unknown:
            speaker = .human(id: message.speakerID, name: message.speakerName)
        }
        return HistoryEntry(sequence: message.rowID ?? 0, speaker: speaker, text: message.text)
    }

    func resetChannelState(_ channel: ChannelRef) {
        state.withLock { s in
            s.anchors[channel.key] = nil
            s.policy.reset(channel: channel.key)
            s.scenes.reset(channel: channel.key)
        }
        // Lore timers count the channel's messages, which a reset or forget takes back.
        lore.state.withLock { $0.scenes[channel.key] = nil }
    }

    var promptScale: Double { state.withLock { $0.assembler.budget.scale } }
    /// The router's clock reading, for code in extensions that times itself.
    var elapsedNow: Duration { clock.now }
    /// Waits on the router's (injected) clock.
    func sleepOnRouterClock(for duration: Duration) async throws { try await clock.sleep(until: clock.now + duration) }

    var configurationForCommands: RouterConfiguration { withImported(configuration) }
    /// The configuration as loaded (without imported personas).
    var configurationForReplies: RouterConfiguration { configuration }
    /// The model the client asks for when the request names none (the prompt view shows what was sent).
    var clientModelName: String? { (model as? ModelSession)?.configuration.model }
    var storeForCommands: any Store { store }
    var commandLogger: Logger { logger }
}

extension PlatformEvent {
    /// The channel the event belongs to.
    public var channel: ChannelRef {
        switch self {
        case .messageCreated(let m): m.channel
        case .messageEdited(let c, _, _, _), .messageDeleted(let c, _), .membership(let c, _): c
        case .interaction(let request): request.channel
        }
    }

    /// The channel's key, read without copying the whole channel (the pump reads it for every event).
    var channelKey: String {
        switch self {
        case .messageCreated(let m): m.channel.key
        case .messageEdited(let c, _, _, _), .messageDeleted(let c, _), .membership(let c, _): c.key
        case .interaction(let request): request.channel.key
        }
    }
}
