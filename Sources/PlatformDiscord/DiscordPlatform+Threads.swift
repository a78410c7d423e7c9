import BridgeCore
import Foundation

extension DiscordPlatform: PlatformSceneThreads {
    /// `POST /channels/{c}/threads` without a message: a public thread (type 11) named `title`, cut to Discord's
    /// 100 characters. The thread is known at once (before THREAD_CREATE arrives), so its first messages already
    /// name their parent.
    public func openThread(titled title: String, from channel: ChannelRef) async throws -> ChannelRef {
        let name = String(title.prefix(SceneCommand.maximumTitleLength))
        var thread = try await rest.request(DiscordChannel.self, .startThread(channelID: channel.channelID),
                                            body: DiscordMessageBuilder.startThread(name: name))
        thread.guildId = thread.guildId ?? channel.serverID
        thread.parentId = thread.parentId ?? channel.channelID
        let known = thread
        state.withLock { s in
            // THREAD_CREATE may have come first, with the same facts.
            if s.channels[known.id] == nil { s.channels[known.id] = known }
        }
        return channelRef(known.id, guildID: known.guildId)
    }

    /// `PATCH /channels/{thread}` with `archived` and `locked`.
    public func closeThread(_ thread: ChannelRef) async throws {
        _ = try await rest.request(.modifyChannel(channelID: thread.channelID), body: DiscordMessageBuilder.archiveThread())
    }
}

extension DiscordRoute {
    /// `POST /channels/{c}/threads`: a thread without a starter message.
    public static func startThread(channelID: String) -> DiscordRoute {
        DiscordRoute(method: "POST", template: "/channels/{channel_id}/threads", majorParameter: channelID,
                     path: "/channels/\(channelID)/threads")
    }

    /// `PATCH /channels/{c}`: channel or thread settings (archiving a thread).
    public static func modifyChannel(channelID: String) -> DiscordRoute {
        DiscordRoute(method: "PATCH", template: "/channels/{channel_id}", majorParameter: channelID, path: "/channels/\(channelID)")
    }
}

extension DiscordMessageBuilder {
    private struct StartThread: Encodable {
        var name: String
        var type = 11
        /// A day without messages archives it, Discord's default for new threads.
        var auto_archive_duration = 1440
    }
    private struct ArchiveThread: Encodable {
        var archived = true
        var locked = true
    }

    /// Body of `POST /channels/{c}/threads`: a public thread named `name`.
    public static func startThread(name: String) -> [UInt8] { encoded(StartThread(name: name)) }

    /// Body of `PATCH /channels/{thread}` that archives and locks it.
    public static func archiveThread() -> [UInt8] { encoded(ArchiveThread()) }

    private static func encoded(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(value)) ?? Data())
    }
}
