import BridgeCore
import Foundation

extension DiscordPlatform {
    static func lastSeenKey(_ channelID: String) -> String { "discord.last_seen." + channelID }

    /// Milliseconds since 1970 encoded in a snowflake.
    static func snowflakeTime(_ id: String) -> Date? {
        guard let value = UInt64(id) else { return nil }
        return Date(timeIntervalSince1970: Double((value >> 22) + 1_420_070_400_000) / 1000)
    }

    /// Remembers the newest message id passed on in a bound channel (where a catch-up after a reconnect starts)
    /// and that it is in flight (the persisted mark must not pass it until the Router has handled it).
    func noteDelivered(_ message: DiscordMessage) {
        guard boundChannelIDs.contains(message.channelId), let id = CatchUpMark.snowflake(message.id) else { return }
        catchUpMarks.withLock { $0.delivered(id, in: message.channelId) }
    }

    /// Moves the persisted catch-up mark once a message is completely handled (never past one still in flight),
    /// so a crash while the Router handles a message leaves it for the restart's catch-up.
    func noteHandled(channelID: String, messageID: String) async {
        noteHandled(CollectionOfOne((channelID, messageID)))
    }

    /// The same for several messages (channel id, message id), in order, under one lock.
    func noteHandled(_ messages: some Sequence<(String, String)>) {
        // Sorted into channels before taking the lock, which the read loop needs for every new message. A flood's
        // batch comes in runs of one channel: a message of the channel before it needs no search and no bound check.
        var channels: [(channelID: String, ids: [UInt64])] = []
        var current: Int?
        for (channelID, messageID) in messages {
            // An id that is not a snowflake was never noted as delivered either.
            guard let id = CatchUpMark.snowflake(messageID) else { continue }
            if let index = current, channels[index].channelID == channelID {
                channels[index].ids.append(id)
            } else if let index = channels.lastIndex(where: { $0.channelID == channelID }) {
                channels[index].ids.append(id)
                current = index
            } else if boundChannelIDs.contains(channelID) {
                channels.append((channelID, [id]))
                current = channels.count - 1
            } else {
                current = nil
            }
        }
        if channels.isEmpty { return }
        let wake = catchUpMarks.withLock { $0.handled(channels) }
        // The write itself happens in `persistMarks`, so a flood costs one transaction per round.
        if wake { markSignal.yield() }
    }

    /// Least time from one round of catch-up marks to the next. A flood moves the marks after every history batch, a
    /// few milliseconds apart, and each round is a transaction on the store's writer that takes SQLite's write lock
    /// from the history batches. A crash loses at most this much of the marks' progress: the restart's catch-up
    /// fetches those messages again, and their claims keep them from being answered twice.
    static let markRoundSpacing: Duration = .milliseconds(250)

    /// Writes the catch-up marks noted since the last round, until `signals` ends (then once more).
    func persistMarks(_ signals: AsyncStream<Void>) async {
        for await _ in signals {
            await saveMarks()
            // Wake-ups meanwhile wait in the stream (it holds one) and make the next round.
            try? await clock.sleep(for: Self.markRoundSpacing)
        }
        await saveMarks()
    }

    private func saveMarks() async {
        let marks = catchUpMarks.withLock { $0.takeUnsaved() }
        if marks.isEmpty { return }
        // One transaction for the round: a flood moves every bound channel's mark after each history batch, and a
        // transaction per channel kept taking the write lock from the history batches.
        do {
            try await store.setStates(marks.map { (key: Self.lastSeenKey($0.key), value: String($0.value)) })
        } catch {
            logger.warning("saving the discord catch-up marks failed",
                           metadata: ["channels": "\(marks.keys.sorted().joined(separator: ","))", "error": "\(error)"])
        }
    }

    /// After a new session, fetches what each bound channel missed and passes the fresh messages on; the Router
    /// claims each message in the store, so nothing is answered twice.
    func catchUp(shard: Int) async {
        let count = max(1, configuration.gateway.shardCount)
        for bound in configuration.boundChannels {
            // Each shard catches up on its own guilds' channels (channels of unknown guild on shard 0, like DMs).
            let guild = bound.guildID ?? channelGuild(bound.channelID)
            let owner = guild.flatMap(UInt64.init).map { Int(($0 >> 22) % UInt64(count)) } ?? 0
            guard owner == shard else { continue }
            do {
                try await catchUp(bound)
            } catch {
                logger.warning("discord catch-up failed", metadata: ["channel": "\(bound.channelID)", "error": "\(error)"])
            }
        }
    }

    private func catchUp(_ bound: DiscordPlatformConfiguration.BoundChannel) async throws {
        let channelID = bound.channelID
        let known = catchUpMarks.withLock { $0.newestDelivered(in: channelID) }
        var stored: String? = known.map { String($0) }
        if stored == nil { stored = try await store.state(for: Self.lastSeenKey(channelID)) }
        guard let after = stored else { return }
        // GUILD_CREATE follows READY; give it a moment so events carry the same guild id as live ones.
        for _ in 0..<30 where channelGuild(channelID) == nil && bound.guildID == nil {
            try await clock.sleep(until: clock.now + .milliseconds(100))
        }
        let cutoff = Date().addingTimeInterval(-Double(configuration.catchUpWindow.components.seconds))
        var cursor = after
        var delivered = 0
        while true {
            let page = try await rest.request([Lossy<DiscordMessage>].self,
                                              .listMessages(channelID: channelID, after: cursor, limit: 100))
            let messages = page.compactMap(\.value).filter { CatchUpMark.less(cursor, $0.id) }
                .sorted { CatchUpMark.less($0.id, $1.id) }
            guard let newest = messages.last else { break }
            for var message in messages {
                message.guildId = message.guildId ?? channelGuild(channelID) ?? bound.guildID
                noteDelivered(message)
                guard let time = Self.snowflakeTime(message.id), time >= cutoff, let event = incoming(message), !event.isOwnMessage else {
                    // Not passed on: nothing will acknowledge it, so it counts as handled now.
                    await noteHandled(channelID: channelID, messageID: message.id)
                    continue
                }
                await events.send(.messageCreated(event))
                delivered += 1
            }
            cursor = newest.id
            if page.count < 100 { break }
        }
        if delivered > 0 { logger.info("discord catch-up", metadata: ["channel": "\(channelID)", "messages": "\(delivered)"]) }
    }

    private func channelGuild(_ channelID: String) -> String? {
        state.withLock { $0.channels[channelID]?.guildId }
    }
}
