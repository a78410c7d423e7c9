import BridgeConfig

extension RouterConfiguration {
    /// Channels on several platforms that share one scene: one history, settings, memory and budgets under the
    /// key `scene::<name>`, and every reply posted to each of them.
    public struct LinkedScene: Hashable, Sendable {
        /// The scene's name.
        public var name: String
        /// The linked channels (platform, server when configured, channel id), in configuration order.
        public var channels: [ChannelRef]
        /// Whether people's messages are copied to the other channels as `[platform] <name> text`.
        public var relayHumans: Bool

        /// Creates a linked scene.
        public init(name: String, channels: [ChannelRef], relayHumans: Bool = false) {
            self.name = name
            self.channels = channels
            self.relayHumans = relayHumans
        }

        /// The router's view of a `[[scenes]]` entry.
        public init(_ scene: BridgeConfig.LinkedScene) {
            self.init(name: scene.name,
                      channels: scene.channels.map { ChannelRef(platform: $0.platform, channelID: $0.channel, serverID: $0.server) },
                      relayHumans: scene.relayHumans)
        }

        /// Whether `channel` is one of the linked channels: same platform and channel id, and the same server where
        /// both name one (as `[[channels]]` bindings are found).
        public func links(_ channel: ChannelRef) -> Bool {
            channels.contains { link in
                link.platform == channel.platform && link.channelID == channel.channelID
                    && (link.serverID == nil || channel.serverID == nil || link.serverID == channel.serverID)
            }
        }
    }

    /// The linked scene `channel` belongs to; direct messages and threads belong to none (a thread keeps its own
    /// history, with its parent's personas).
    func linkedScene(for channel: ChannelRef) -> LinkedScene? {
        guard !linkedScenes.isEmpty, !channel.isDirect, channel.parentID == nil || channel.parentID == channel.channelID else {
            return nil
        }
        return linkedScenes.first { $0.links(channel) }
    }
}
