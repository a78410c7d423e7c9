import BridgeCore
import Foundation

/// Proxies (PluralKit, Tupperbox): human messages wait in `ProxyHold` where proxies post, so a deleted original and
/// its webhook copy become one message, credited to the member and authored by the real user.
extension DiscordPlatform {
    typealias ProxyAction = ProxyHold<DiscordMessage>.Action

    /// Messages held for a proxy or waiting for a PluralKit answer (tests wait for zero before counting replies).
    public var proxyHeldCount: Int { state.withLock { $0.proxyHold.count } }

    /// What happens to a new message: it passes straight on (converted already), or the hold has actions for it.
    enum Arrival {
        case passesOn(IncomingMessage)
        case actions([ProxyAction])
    }

    /// Where the hold sends a new message.
    enum ProxyRoute {
        /// Straight on: nothing to hold (the bridge's own, a bot's, a DM, or a human outside proxy channels, which
        /// the hold has remembered for a late copy).
        case passes
        /// A webhook's message that is not the bridge's own: perhaps a proxy's copy.
        case webhook
        /// A human message where proxies post: it waits for a copy.
        case held
    }

    /// Feeds a new message to the hold and, when the hold lets it straight on (any message outside a channel where
    /// a proxy posts, which is nearly all of them), converts it under the same lock and notes it delivered.
    func arrival(_ message: DiscordMessage) -> Arrival {
        let now = clock.now
        let (facts, actions, wake) = state.withLock { s -> (ConversionFacts?, [ProxyAction], Bool) in
            let own = Self.isOwn(message, in: s)
            let route = Self.proxyRoute(message, own: own, now: now, bots: configuration.bots, in: &s)
            // The usual case builds no actions and copies the message nowhere.
            if case .passes = route { return (Self.conversionFacts(message, own: own, in: &s), [], false) }
            let (actions, wake) = Self.proxyActions(message, route: route, now: now, in: &s)
            // Only this message, emitted: a full hold may release an older one instead, which takes the long way.
            guard actions.count == 1, case .emit(let passing) = actions[0], passing.id == message.id else { return (nil, actions, wake) }
            return (Self.conversionFacts(message, own: own, in: &s), [], wake)
        }
        if wake { proxyWake.yield() }
        if let facts {
            noteDelivered(message)
            return .passesOn(incoming(message, facts))
        }
        return .actions(actions)
    }

    /// The hold's route for a new message (`own` when the bridge sent it; it, DMs and other bots pass straight
    /// through). A human message that passes is remembered here, so it must not be fed to the hold again.
    static func proxyRoute(_ message: DiscordMessage, own: Bool, now: Duration, bots: Set<String>, in s: inout State) -> ProxyRoute {
        guard s.proxyHold.isEnabled, message.guildId != nil else { return .passes }
        if own { return .passes }
        if message.webhookId != nil { return .webhook }
        if message.author.bot == true || bots.contains(message.author.id) { return .passes }
        // No proxy has posted anywhere yet (and none is configured): nothing to learn and nothing held here.
        if !s.proxyHold.proxyChannels.isEmpty {
            // Proxies that post in a channel post in its threads too.
            if let channel = s.channels[message.channelId], channel.isThread, let parent = channel.parentId,
               s.proxyHold.proxyChannels.contains(parent) {
                s.proxyHold.learn(message.channelId)
            }
            if s.proxyHold.proxyChannels.contains(message.channelId) { return .held }
        }
        // Outside proxy channels the hold only remembers the message (for a late copy) and lets it on.
        s.proxyHold.rememberPassing(id: message.id, channelID: message.channelId, text: message.content, now: now)
        return .passes
    }

    /// The hold's actions for a new message on `route`; `wake` when its release timer must start.
    static func proxyActions(_ message: DiscordMessage, route: ProxyRoute, now: Duration, in s: inout State) -> ([ProxyAction], Bool) {
        switch route {
        case .passes:
            return ([.emit(message)], false)
        case .webhook:
            let name = message.author.globalName ?? message.author.username ?? message.author.id
            return (s.proxyHold.webhook(seen(message), name: name, now: now), false)
        case .held:
            // A held original may never reach `incoming` (its copy goes instead): its roles count now, for the
            // user's proxied commands. Elsewhere the message goes on at once and `incoming` records them.
            if let roles = message.memberRoles, let guild = message.guildId {
                s.memberRoles[MemberKey(guild: guild, user: message.author.id)] = roles
            }
            let wasHolding = s.proxyHold.nextDeadline != nil
            let actions = s.proxyHold.human(seen(message), now: now)
            return (actions, !wasHolding && s.proxyHold.nextDeadline != nil)
        }
    }

    private static func seen(_ message: DiscordMessage) -> ProxyHold<DiscordMessage>.Seen {
        ProxyHold<DiscordMessage>.Seen(id: message.id, channelID: message.channelId, text: message.content, payload: message)
    }

    /// Whether a deletion reaches the router: not for a held original (never passed on), nor for an original whose
    /// copy was dropped because the original was answered already.
    func proxyDeletionPassesOn(_ delete: DiscordMessageDelete) async -> Bool {
        let now = clock.now
        let actions = state.withLock { s -> [ProxyAction] in
            guard s.proxyHold.isEnabled else { return [.forwardDelete(messageID: delete.id, channelID: delete.channelId)] }
            return s.proxyHold.deleted(messageID: delete.id, channelID: delete.channelId, now: now)
        }
        var passes = false
        var rest: [ProxyAction] = []
        for action in actions {
            if case .forwardDelete = action { passes = true } else { rest.append(action) }
        }
        // A paired original: its copy goes out now (answers never ask for a look-up).
        await perform(rest) { _ in }
        return passes
    }

    /// Applies an edit to a held message (its new text goes on when its wait ends); true when it was held, and the
    /// edit must then go no further.
    func proxyHeldEdit(_ update: DiscordMessageUpdate) -> Bool {
        guard let content = update.content else { return false }
        return state.withLock { s in
            guard s.proxyHold.isEnabled else { return false }
            return s.proxyHold.edited(messageID: update.id, channelID: update.channelId, text: content) { message in
                var message = message
                message.content = content
                return message
            }
        }
    }

    /// Carries out the hold's actions; look-ups run as side work, never in the read loop.
    func perform(_ actions: [ProxyAction], spawn: (@escaping @Sendable () async -> Void) -> Void) async {
        for action in actions {
            switch action {
            case .emit(let message):
                await events.send(.messageCreated(passOn(message)))
            case .emitProxied(let copy, let credit):
                if let event = proxied(copy, credit: credit) {
                    noteDelivered(copy)
                    await events.send(.messageCreated(event))
                }
            case .lookUp(let messageID, _):
                spawn { [self] in await lookUp(messageID) }
            case .forwardDelete(let messageID, let channelID):
                await events.send(.messageDeleted(channel: channelRef(channelID, guildID: nil), messageID: messageID))
            }
        }
    }

    /// Asks PluralKit who sent a webhook message, then lets the hold decide (by content and time when PluralKit
    /// cannot tell).
    private func lookUp(_ messageID: String) async {
        let actions: [ProxyAction]
        do throws(PluralKitError) {
            let found = try await pluralKit.message(messageID)
            let now = clock.now
            actions = state.withLock {
                $0.proxyHold.identified(messageID, originalID: found.original, senderID: found.sender, memberName: found.memberName, now: now)
            }
        } catch {
            if error.code != .notProxied {
                logger.info("pluralkit look-up failed; matching by content and time", metadata: ["error": "\(error)"])
            }
            let now = clock.now
            actions = state.withLock { $0.proxyHold.lookupFailed(messageID, now: now) }
        }
        await perform(actions) { _ in
            // Answers never ask for another look-up; nothing to start.
        }
    }

    /// The webhook copy as the router sees it: the copy's id, text and mentions, the original user as author, the
    /// member's name as the credited speaker.
    func proxied(_ copy: DiscordMessage, credit: ProxyHold<DiscordMessage>.Credit) -> IncomingMessage? {
        guard var event = incoming(copy) else { return nil }
        let author: ChatUser
        if let original = credit.original {
            author = ChatUser(id: original.author.id,
                              displayName: original.memberNick ?? original.author.globalName ?? original.author.username ?? original.author.id,
                              isBot: false)
            if event.replyTo == nil { event.replyTo = original.referencedMessageId }
        } else {
            author = ChatUser(id: credit.senderID ?? copy.author.id, displayName: credit.memberName, isBot: false)
        }
        event.author = author
        event.isOwnMessage = false
        event.creditedName = credit.memberName.isEmpty || credit.memberName == author.displayName ? nil : credit.memberName
        // A webhook message mentions the bot only in its text; a proxied DM does not exist.
        return event
    }

    /// Releases held messages when their wait ends, until cancelled.
    func runProxyTimer(_ wakes: AsyncStream<Void>) async {
        var iterator = wakes.makeAsyncIterator()
        while !Task.isCancelled {
            guard let due = state.withLock({ $0.proxyHold.nextDeadline }) else {
                // Nothing held: sleep until a message is.
                guard await iterator.next() != nil else { return }
                continue
            }
            do { try await clock.sleep(until: due) } catch { return }
            let now = clock.now
            let actions = state.withLock { $0.proxyHold.expire(now: now) }
            await perform(actions) { _ in }
        }
    }
}
