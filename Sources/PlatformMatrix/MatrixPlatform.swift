import BridgeCore
import Foundation
import HTTPTransport
import Logging
import ServiceLifecycle
import Storage
import Synchronization

/// The Matrix adapter: a bot account that syncs rooms and streams replies as `m.replace` edits.
///
/// `run()` is the sync service: log in (or reuse the stored token and device), long-poll `/sync`, deliver events,
/// persist `next_batch` after each batch. Sends and edits use derived txnIds and retry 429s after the wait asked for.
public final class MatrixPlatform: ChatPlatform, Sendable {
    private struct Outgoing: Sendable {
        var room: String
        var txnBase: String
        /// Appservice mode: the persona user that sent it, who must send its edits too.
        var sender: String? = nil
        var cap: MatrixEditCap
        /// The newest edit number requested: an older edit still waiting (a 429) is dropped, never sent after it.
        var latestEdit = 0
        /// One edit of a message at a time, in order; the others wait their turn here.
        var editBusy = false
        var editWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private struct State: ~Copyable {
        var rooms: MatrixRooms
        var outgoing: [String: Outgoing] = [:]
        var outgoingOrder: [String] = []
        var stopping = false
        var lastTrigger: [String: (trigger: String, part: Int)] = [:]
        /// Replies that reached the room per `room + trigger` in this process: a second answer to the same message
        /// (`regenerate`) must not reuse the first one's transaction ID when its first words are the same.
        var answersSent: [String: Int] = [:]
        var limiters: [String: MatrixRateLimiter] = [:]
        var accountPausedUntil: Duration?
        var ready = false
        var deviceID: String?
        var sendLog: [SendAttempt] = []
        /// The last /sync failed; cleared by the next success.
        var syncFailing = false
        /// Which batches Core has handled, for storing `next_batch`.
        var ledger = MatrixBatchLedger()
    }

    /// One PUT to the homeserver, as the platform saw it (for status and tests).
    public struct SendAttempt: Hashable, Sendable {
        /// When it was issued, since the platform was created.
        public var startedAt: Duration
        /// When it finished.
        public var at: Duration
        /// The txnId used.
        public var txnID: String
        /// For a 429, the wait that was honoured before the next attempt.
        public var rateLimitedFor: Duration?
        /// Whether it created (or found) the event.
        public var succeeded: Bool
        /// An edit dropped unsent because a newer edit of the same message came (it must never land after it).
        public var superseded = false
    }

    /// Always `matrix`.
    public let platformName = "matrix"
    /// Incoming messages, edits and redactions.
    public let events = BoundedEventQueue<PlatformEvent>(capacity: 256)
    /// Edits, HTML, 4000 characters per message (well under the 64 KiB event limit with HTML).
    public let capabilities = PlatformCapabilities(canEdit: true, maxLength: 4000, textFormat: .matrixHTML)
    /// Per-room edit budgets, adapted to 429s.
    public let editBudgets: EditBudgetBoard
    /// The configuration in use.
    public let configuration: MatrixPlatformConfiguration
    /// The client-server API client (tests use its hooks).
    public let client: MatrixClient

    /// Final edits held back by the per-reply cap; `run()` flushes each after the quiet time.
    private let heldEdits: AsyncStream<HeldEdit>
    private let heldEditsInput: AsyncStream<HeldEdit>.Continuation
    let store: any Store
    let clock: ElapsedClock
    let logger: Logger
    private let metrics = BridgeMetrics()
    private let state: Mutex<State>
    /// Appservice mode's own state (persona users, handled transactions, the listener).
    let appserviceState = Mutex(MatrixAppserviceState())

    /// Creates the adapter; nothing happens until `run()`.
    public init(configuration: MatrixPlatformConfiguration, http: HTTPClient, store: any Store,
                clock: any Clock<Duration> = ContinuousClock(), logger: Logger) {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "platform"] = "matrix"
        self.logger = logger
        self.store = store
        self.clock = ElapsedClock(clock)
        self.client = MatrixClient(homeserver: configuration.homeserverURL, http: http, logger: logger)
        self.editBudgets = EditBudgetBoard(fallback: configuration.initialEditBudget)
        (heldEdits, heldEditsInput) = AsyncStream.makeStream(of: HeldEdit.self)
        var rooms = MatrixRooms(ownUserID: configuration.userID, catchUpWindow: configuration.catchUpWindow)
        rooms.bots = configuration.bots
        if let appservice = configuration.appservice {
            rooms.ownUserPrefix = "@" + appservice.userPrefix
            client.setAccessToken(appservice.asToken)
        }
        state = Mutex(State(rooms: rooms))
    }

    private var stateKeyPrefix: String { "matrix:\(configuration.userID):" }

    /// The device this session uses (after login).
    public var deviceID: String? { state.withLock { $0.deviceID } }

    /// Every send/edit attempt so far, oldest first.
    public var sendAttempts: [SendAttempt] { state.withLock { $0.sendLog } }

    /// Whether the first sync has been processed.
    public var isReady: Bool { state.withLock { $0.ready } }

    /// Ready for `/readyz`: the first sync finished and the last one succeeded.
    public var isConnected: Bool { state.withLock { $0.ready && !$0.syncFailing } }

    // MARK: Service

    /// Logs in and runs the sync loop until cancelled, graceful shutdown, or a fatal error (`M_UNKNOWN_TOKEN`).
    public func run() async throws {
        defer { events.finish() }
        let outcome: Result<Void, any Error> = await withDiscardingTaskGroup { group in
            group.addTask { await self.flushHeldEdits() }
            let outcome: Result<Void, any Error>
            do {
                if self.configuration.appservice != nil {
                    try await self.appserviceService()
                } else {
                    try await self.syncService()
                }
                outcome = .success(())
            } catch {
                outcome = .failure(error)
            }
            // On the way out, held final edits still go out (edits past the cap are sent at once from now on);
            // the group waits for the flushes already queued.
            state.withLock { $0.stopping = true }
            heldEditsInput.finish()
            return outcome
        }
        await commitOnExit()
        try outcome.get()
    }

    /// A final edit the cap held back, sent once the reply has been quiet for a while.
    private struct HeldEdit: Sendable {
        let message: SentMessageRef
        let generation: Int
        let quiet: Duration
    }

    /// Sends each held edit after its quiet time, as child tasks of `run()`, until the stream ends.
    private func flushHeldEdits() async {
        await withDiscardingTaskGroup { flushes in
            for await held in heldEdits {
                flushes.addTask { await self.flush(held) }
            }
        }
    }

    private func flush(_ held: HeldEdit) async {
        try? await clock.sleep(for: held.quiet)
        let due = state.withLock { $0.outgoing[held.message.messageID]?.cap.flush(generation: held.generation) }
        guard let due else { return }
        do {
            try await putEdit(held.message, text: due.text, number: due.number)
        } catch {
            logger.error("the held final edit failed", metadata: ["message-id": "\(held.message.messageID)", "error": "\(error)"])
        }
    }

    /// Core stops before the adapters, so by now every event it took is handled.
    private func commitOnExit() async {
        do {
            try await commitHandledBatches()
        } catch {
            logger.warning("could not store the sync position; the next start replays from the last one",
                           metadata: ["error": "\(error)"])
        }
    }

    private func syncService() async throws {
        try await cancelWhenGracefulShutdown { [self] in
            do {
                try await loginRetryingTransientFailures()
                try await syncLoop()
            } catch let error as MatrixError where error.code == .unknownToken || error.code == .login {
                logger.error("Matrix adapter stopped: \(error.message)", metadata: ["error": "\(error)"])
                throw error
            } catch is CancellationError {
                return
            }
        }
    }

    /// A homeserver that is down at start-up is waited for; a refused login is not.
    private func loginRetryingTransientFailures() async throws {
        var backoff = MatrixBackoff(initial: configuration.retryInitialDelay, maximum: configuration.retryMaxDelay)
        while true {
            do {
                return try await login()
            } catch let error as MatrixError where error.isTransient {
                let delay = error.retryAfter ?? backoff.next()
                logger.warning("login failed; retrying", metadata: ["error": "\(error)", "delay": "\(delay)"])
                try await clock.sleep(for: delay)
            }
        }
    }

    private func login() async throws {
        let tokenKey = stateKeyPrefix + "access_token"
        let deviceKey = stateKeyPrefix + "device_id"
        if let token = configuration.accessToken {
            client.setAccessToken(token)
            let who = try await client.whoami()
            try checkUser(who.userID)
            state.withLock { $0.deviceID = who.deviceID }
            logger.info("using the configured access token", metadata: ["device": "\(who.deviceID ?? "?")"])
            return
        }
        guard let password = configuration.password else {
            throw MatrixError(.login, "neither access_token nor password is configured for \(configuration.userID)")
        }
        let stored: String?
        do {
            // Sealed with PB_STATE_KEY when one is set; a token that does not open means logging in afresh.
            stored = try await store.secretState(for: tokenKey)
        } catch let error as StateSealerError {
            logger.warning("the stored access token cannot be used; logging in again", metadata: ["error": "\(error)"])
            stored = nil
        }
        if let stored {
            client.setAccessToken(stored)
            do {
                let who = try await client.whoami()
                try checkUser(who.userID)
                state.withLock { $0.deviceID = who.deviceID }
                logger.info("reusing the stored session", metadata: ["device": "\(who.deviceID ?? "?")"])
                return
            } catch let error as MatrixError where error.code == .unknownToken {
                logger.notice("the stored access token is no longer valid; logging in again")
            }
        }
        let device = try await store.state(for: deviceKey) ?? configuration.deviceID
        do {
            let session = try await client.login(user: configuration.userID, password: password, deviceID: device,
                                                 deviceName: configuration.deviceName)
            try checkUser(session.userID)
            try await store.setState(session.deviceID, for: deviceKey)
            try await store.setSecretState(session.accessToken, for: tokenKey)
            state.withLock { $0.deviceID = session.deviceID }
            logger.info("logged in", metadata: ["device": "\(session.deviceID)"])
        } catch let error as MatrixError where error.status == 403 || error.status == 400 {
            throw MatrixError(.login, "password login for \(configuration.userID) failed: \(error.message)",
                              status: error.status, errcode: error.errcode)
        }
    }

    private func checkUser(_ actual: String) throws {
        guard actual == configuration.userID else {
            throw MatrixError(.login, "the access token belongs to \(actual), not the configured user_id \(configuration.userID)")
        }
    }

    static var filter: String {
        let types: MatrixJSON = ["m.room.member", "m.room.name", "m.room.canonical_alias", "m.room.power_levels", "m.room.create"]
        let filter: MatrixJSON = [
            "room": [
                "timeline": ["limit": 50, "types": ["m.room.message", "m.room.redaction", "m.reaction", "m.room.member", "m.room.name",
                                                    "m.room.canonical_alias", "m.room.power_levels", "m.room.create"]],
                "state": ["lazy_load_members": true, "types": types],
                "ephemeral": ["types": []], "account_data": ["types": []],
            ],
            // Global account data: only `m.direct`, which says which rooms are direct chats.
            "presence": ["types": []], "account_data": ["types": ["m.direct"]],
        ]
        return String(decoding: filter.bytes, as: UTF8.self)
    }

    /// Stores the newest `next_batch` whose events Core has all handled.
    private func commitHandledBatches() async throws {
        guard let token = state.withLock({ $0.ledger.takeCommit() }) else { return }
        try await store.setState(token, for: stateKeyPrefix + "next_batch")
    }

    /// Appservice mode: pushed timeline events (room, event), in order, through the same mapping as `/sync`
    /// events and into the events queue. Returns how many Core events came out.
    func deliverPushed(_ pushed: [(room: String, event: MatrixEvent)]) async -> Int {
        var joined: [MatrixSyncResponse.JoinedRoom] = []
        for (room, event) in pushed {
            if joined.last?.roomID == room {
                joined[joined.count - 1].timeline.append(event)
            } else {
                joined.append(MatrixSyncResponse.JoinedRoom(roomID: room, state: [], timeline: [event], limited: false))
            }
        }
        let nowMs = Int(Date().timeIntervalSince1970 * 1000)
        let out = state.withLock { s in s.rooms.apply(MatrixSyncResponse(nextBatch: "", joined: joined), initial: false, nowMs: nowMs) }
        for event in out { await events.send(event) }
        return out.count
    }

    /// Appservice mode: the listener is up (there is no first sync to wait for).
    func markReady() { state.withLock { $0.ready = true } }

    /// Core finished an event: its batch may now be complete.
    public func handled(_ event: PlatformEvent) async {
        state.withLock { $0.ledger.handled(event) }
        if configuration.appservice != nil { await appserviceHandled(event) }
    }

    private func syncLoop() async throws {
        let batchKey = stateKeyPrefix + "next_batch"
        var since = try await store.state(for: batchKey)
        if since == nil { logger.info("first start: reading room state, skipping earlier history") }
        var backoff = MatrixBackoff(initial: configuration.retryInitialDelay, maximum: configuration.retryMaxDelay)
        while !Task.isCancelled {
            var response: MatrixSyncResponse
            do {
                response = try await client.sync(since: since, filter: Self.filter,
                                                 timeout: since == nil ? .zero : configuration.syncTimeout)
            } catch let error where error.code == .unknownToken {
                throw MatrixError(.unknownToken,
                                  "the homeserver rejected the access token (M_UNKNOWN_TOKEN); log in again or configure a new access_token",
                                  status: error.status, errcode: error.errcode)
            } catch {
                if Task.isCancelled { return }
                let delay = error.retryAfter ?? backoff.next()
                logger.warning("sync failed; retrying", metadata: ["error": "\(error)", "delay": "\(delay)"])
                state.withLock { $0.syncFailing = true }
                try await clock.sleep(for: delay)
                continue
            }
            backoff.reset()
            let nowMs = Int(Date().timeIntervalSince1970 * 1000)
            let initial = since == nil
            if let since { response = await backfillGaps(response, since: since, nowMs: nowMs) }
            let out = state.withLock { [response] s in
                let out = s.rooms.apply(response, initial: initial, nowMs: nowMs)
                s.ledger.received(token: response.nextBatch, events: out)
                return out
            }
            for event in out { await events.send(event) }
            for invite in response.invited { await handleInvite(invite) }
            try await commitHandledBatches()
            since = response.nextBatch
            let recovered = state.withLock { s in
                defer { s.ready = true; s.syncFailing = false }
                return s.syncFailing
            }
            if recovered { metrics.reconnected(platform: platformName) }
        }
    }

    /// Most events one gap is back-filled with (the catch-up window usually ends it sooner).
    static var backfillLimit: Int { 1_000 }

    /// A `limited` timeline left events out: fetches them through `/messages` (backwards from the timeline's
    /// start to the previous sync, at most back to the catch-up window) and puts them before the timeline, so
    /// they are recorded and answered like the rest of the batch. A failed fetch keeps what was fetched.
    private func backfillGaps(_ response: MatrixSyncResponse, since: String, nowMs: Int) async -> MatrixSyncResponse {
        var response = response
        for index in response.joined.indices where response.joined[index].limited {
            let room = response.joined[index]
            guard var from = room.prevBatch else { continue }
            var missed: [MatrixEvent] = []
            do {
                paging: while missed.count < Self.backfillLimit {
                    let page = try await client.call(
                        .get, "/rooms/\(MatrixClient.segment(room.roomID))/messages",
                        query: [("dir", "b"), ("from", from), ("to", since), ("limit", "100")])
                    let events = (page["chunk"]?.array ?? []).compactMap(MatrixEvent.init(json:))
                    for event in events {
                        if let ts = event.originServerTS, Duration.milliseconds(nowMs - ts) > configuration.catchUpWindow {
                            break paging
                        }
                        missed.append(event)
                    }
                    guard let end = page["end"]?.string, end != from, !events.isEmpty else { break }
                    from = end
                }
            } catch {
                logger.warning("could not back-fill a sync gap", metadata: ["channel": "\(room.roomID)", "error": "\(error)"])
            }
            let known = Set(room.timeline.compactMap(\.eventID))
            let gap = missed.reversed().filter { $0.eventID.map { !known.contains($0) } ?? true }
            if !gap.isEmpty {
                logger.info("back-filled a sync gap", metadata: ["channel": "\(room.roomID)", "events": "\(gap.count)"])
            }
            response.joined[index].timeline = gap + room.timeline
        }
        return response
    }

    private func handleInvite(_ invite: MatrixSyncResponse.InvitedRoom) async {
        let inviter = invite.inviter(of: configuration.userID)
        var logger = logger
        logger[metadataKey: "channel"] = "\(invite.roomID)"
        do {
            if configuration.allowsInvite(from: inviter) {
                try await client.join(invite.roomID)
                logger.info("joined on invite", metadata: ["inviter": "\(inviter ?? "?")"])
                if let inviter, invite.isDirect(for: configuration.userID) { await rememberDirect(invite.roomID, with: inviter, logger: logger) }
            } else {
                try await client.leave(invite.roomID)
                logger.notice("declined an invite from a user not in invite_allowlist", metadata: ["inviter": "\(inviter ?? "?")"])
            }
        } catch {
            logger.warning("could not answer an invite", metadata: ["error": "\(error)"])
        }
    }

    /// Adds a direct room to our `m.direct` account data (as clients do for DMs), so it stays a DM after a
    /// restart; the sync that echoes the change updates the room directory. Failures only cost the DM its persona.
    private func rememberDirect(_ roomID: String, with user: String, logger: Logger) async {
        var map = state.withLock { $0.rooms.directMap }
        if map[user]?.contains(roomID) == true { return }
        map[user, default: []].append(roomID)
        let updated = map
        state.withLock { $0.rooms.setDirect(updated) }
        let body = MatrixJSON.object(updated.mapValues { .array($0.map(MatrixJSON.string)) })
        do {
            _ = try await client.call(.put, "/user/\(MatrixClient.segment(configuration.userID))/account_data/m.direct", body: body)
            logger.info("direct chat noted in m.direct", metadata: ["user": "\(user)"])
        } catch {
            logger.warning("could not note the direct chat in m.direct", metadata: ["error": "\(error)"])
        }
    }

    // MARK: ChatPlatform

    /// Sends `text` (Markdown → sanitised HTML) with a txnId derived from the reply it belongs to.
    public func send(_ text: String, in channel: ChannelRef, replyTo: String?, as identity: PersonaIdentity?) async throws -> SentMessageRef {
        let room = channel.channelID
        // Appservice mode: the persona's own user, registered and in the room before it speaks.
        let sender = try await appserviceSender(for: identity, in: room)
        let answerKey = replyTo.map { room + "\u{0}" + $0 }
        let txn = state.withLock { s -> String in
            let trigger: String
            let part: Int
            if let replyTo, let answerKey {
                // Counted only once a send succeeded, so a retried send keeps its ID.
                let earlier = s.answersSent[answerKey] ?? 0
                trigger = earlier == 0 ? replyTo : replyTo + "#\(earlier)"
                part = 0
            } else if let last = s.lastTrigger[room] {
                trigger = last.trigger
                part = last.part + 1
            } else {
                trigger = UUID().uuidString
                part = 0
            }
            s.lastTrigger[room] = (trigger, part)
            return MatrixTransactionID.reply(room: room, trigger: trigger, part: part, text: text)
        }
        let eventID = try await put(room: room, channel: channel, txnID: txn, content: MatrixContent.message(text, replyTo: replyTo),
                                    asUser: sender)
        let orphaned = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            if let answerKey {
                if s.answersSent.count >= 4_096 { s.answersSent.removeAll(keepingCapacity: true) }
                s.answersSent[answerKey, default: 0] += 1
            }
            s.outgoing[eventID] = Outgoing(room: room, txnBase: txn, sender: sender, cap: MatrixEditCap(cap: configuration.maxEditsPerReply))
            s.outgoingOrder.append(eventID)
            // Long-finished replies are not edited again; keep the table small.
            guard s.outgoingOrder.count > 512 else { return [] }
            return s.outgoing.removeValue(forKey: s.outgoingOrder.removeFirst())?.editWaiters ?? []
        }
        // Edits still waiting for their turn on an evicted message go ahead unordered rather than wait forever.
        orphaned.forEach { $0.resume() }
        return SentMessageRef(channel: channel, messageID: eventID, kind: MatrixSentEvent(transactionBase: txn, senderUserID: sender))
    }

    /// Edits a sent message with `m.replace`; past the per-reply cap only the newest text is kept and sent at the end.
    public func edit(_ message: SentMessageRef, text: String) async throws {
        let (decision, stopping) = state.withLock { s -> (MatrixEditCap.Decision, Bool) in
            if s.outgoing[message.messageID] == nil {
                let base = message.kind(as: MatrixSentEvent.self)?.transactionBase
                    ?? "pbx" + MatrixTransactionID.digest(message.messageID)
                s.outgoing[message.messageID] = Outgoing(room: message.channel.channelID, txnBase: base,
                                                         sender: message.kind(as: MatrixSentEvent.self)?.senderUserID,
                                                         cap: MatrixEditCap(cap: configuration.maxEditsPerReply))
            }
            return (s.outgoing[message.messageID]!.cap.request(text), s.stopping)
        }
        switch decision {
        case .send(let number):
            try await putEdit(message, text: text, number: number)
        case .hold(let generation):
            let quiet = stopping ? Duration.zero : configuration.heldEditQuietTime
            let held = HeldEdit(message: message, generation: generation, quiet: quiet)
            if case .terminated = heldEditsInput.yield(held) {
                // `run()` is over: nothing will flush it later, so it goes out now.
                await flush(held)
            }
        }
    }

    private func putEdit(_ message: SentMessageRef, text: String, number: Int) async throws {
        let id = message.messageID
        let (known, knownSender) = state.withLock { s -> (String?, String?) in
            if let latest = s.outgoing[id]?.latestEdit { s.outgoing[id]?.latestEdit = max(latest, number) }
            return (s.outgoing[id]?.txnBase, s.outgoing[id]?.sender)
        }
        let base = known ?? message.kind(as: MatrixSentEvent.self)?.transactionBase ?? id
        let sender = knownSender ?? message.kind(as: MatrixSentEvent.self)?.senderUserID
        // Edits of one message go out one at a time, in order; one that a newer edit overtook while it waited
        // (out a 429, or for its turn) is dropped: the newer text contains it, and it must never land after it.
        await takeEditTurn(id)
        defer { giveUpEditTurn(id) }
        let superseded: @Sendable () -> Bool = { [self] in state.withLock { ($0.outgoing[id]?.latestEdit ?? number) > number } }
        _ = try await put(room: message.channel.channelID, channel: message.channel,
                          txnID: MatrixTransactionID.edit(base: base, edit: number),
                          content: MatrixContent.edit(of: id, newText: text), superseded: superseded, asUser: sender)
    }

    private func takeEditTurn(_ id: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                guard let outgoing = s.outgoing[id], outgoing.editBusy else {
                    s.outgoing[id]?.editBusy = true
                    return true
                }
                s.outgoing[id]?.editWaiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    private func giveUpEditTurn(_ id: String) {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let outgoing = s.outgoing[id] else { return nil }
            guard !outgoing.editWaiters.isEmpty else {
                s.outgoing[id]?.editBusy = false
                return nil
            }
            // The turn passes straight to the next edit; `editBusy` stays set.
            return s.outgoing[id]?.editWaiters.removeFirst()
        }
        next?.resume()
    }

    /// One PUT, retried with the same txnId: after a 429 it waits what the server asked (the whole account waits)
    /// and slows the room's edit budget; transient failures back off a few times.
    private func put(room: String, channel: ChannelRef, txnID: String, content: MatrixJSON,
                     superseded: (@Sendable () -> Bool)? = nil, asUser: String? = nil) async throws -> String {
        var backoff = MatrixBackoff(initial: .milliseconds(500), maximum: .seconds(10))
        var limitedAttempts = 0
        while true {
            let began = try await waitForAccountPause()
            if superseded?() == true {
                let at = clock.now
                state.withLock {
                    $0.sendLog.append(SendAttempt(startedAt: began, at: at, txnID: txnID, rateLimitedFor: nil, succeeded: false,
                                                  superseded: true))
                }
                logger.debug("edit dropped: a newer one replaces it", metadata: ["channel": "\(room)"])
                return ""
            }
            let failure: MatrixError
            do {
                let id = try await client.send(room, txnID: txnID, content: content, asUser: asUser)
                let at = clock.now
                let relaxed = state.withLock { s in
                    s.sendLog.append(SendAttempt(startedAt: began, at: at, txnID: txnID, rateLimitedFor: nil, succeeded: true))
                    return s.limiters[room]?.succeeded()
                }
                if let relaxed { editBudgets.set(relaxed, for: channel) }
                return id
            } catch {
                failure = error
            }
            if failure.code == .rateLimited {
                limitedAttempts += 1
                metrics.rateLimited(platform: platformName)
                let asked = failure.retryAfter
                let budget = state.withLock { s -> EditBudget in
                    var limiter = s.limiters[room] ?? MatrixRateLimiter(initial: configuration.initialEditBudget)
                    let wait = asked ?? limiter.defaultWait
                    let budget = limiter.limited(wait: wait)
                    s.limiters[room] = limiter
                    let now = clock.now
                    s.sendLog.append(SendAttempt(startedAt: began, at: now, txnID: txnID, rateLimitedFor: wait, succeeded: false))
                    let until = now + wait
                    if s.accountPausedUntil.map({ $0 < until }) ?? true { s.accountPausedUntil = until }
                    return budget
                }
                editBudgets.set(budget, for: channel)
                logger.notice("rate limited; waiting as asked", metadata: [
                    "channel": "\(room)", "retry-after": "\(budget.pause ?? .zero)", "attempt": "\(limitedAttempts)",
                ])
                guard limitedAttempts < 30 else { throw failure }
            } else if failure.isTransient {
                let at = clock.now
                state.withLock { $0.sendLog.append(SendAttempt(startedAt: began, at: at, txnID: txnID, rateLimitedFor: nil, succeeded: false)) }
                guard backoff.failures < 5 else { throw failure }
                let delay = backoff.next()
                logger.warning("send failed; retrying with the same txnId", metadata: ["error": "\(failure)", "delay": "\(delay)"])
                try await clock.sleep(for: delay)
            } else {
                throw failure
            }
        }
    }

    /// Sleeps while a 429 pause is on; returns the moment (since start) the pause was checked clear.
    private func waitForAccountPause() async throws -> Duration {
        while true {
            let (until, now) = state.withLock { s -> (Duration?, Duration) in
                let now = clock.now
                guard let until = s.accountPausedUntil, now < until else { return (nil, now) }
                return (until, now)
            }
            guard let until else { return now }
            try await clock.sleep(until: until)
        }
    }

    /// Sends a typing notification (30 s); errors are ignored.
    public func typing(in channel: ChannelRef) async {
        do {
            try await client.typing(channel.channelID, userID: configuration.userID, typing: true)
        } catch {
            logger.debug("typing failed", metadata: ["error": "\(error)"])
        }
    }

    /// A config admin, a user at or above the power-level threshold, or (room v12+) a room creator.
    public func isModerator(_ user: ChatUser, in channel: ChannelRef) async -> Bool {
        if configuration.admins.contains(user.id) { return true }
        do {
            let events = try await client.fullState(channel.channelID)
            let power = events.last { $0.type == "m.room.power_levels" && $0.stateKey == "" }
            let create = events.last { $0.type == "m.room.create" && $0.stateKey == "" }
            return MatrixPowerLevels(powerLevels: power?.content, create: create)
                .isModerator(user.id, threshold: configuration.moderatorPowerLevel, admins: configuration.admins)
        } catch {
            logger.warning("could not read power levels", metadata: ["channel": "\(channel.channelID)", "error": "\(error)"])
            return false
        }
    }
}
