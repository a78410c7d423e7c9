import BridgeCore

extension DiscordPlatform {
    /// Age-restricted (`nsfw`) as GUILD_CREATE, CHANNEL_CREATE or the latest CHANNEL_UPDATE described the channel;
    /// a thread follows its parent. Unknown channels (and DMs) are not.
    public func allowsMatureContent(in channel: ChannelRef) async -> Bool {
        state.withLock { s in
            guard var known = s.channels[channel.channelID] else { return false }
            if known.isThread, let parent = known.parentId, let parentChannel = s.channels[parent] { known = parentChannel }
            return known.nsfw
        }
    }
}
