/// Who a persona's content is for (`content_rating` in its TOML). A mature persona answers only where the
/// platform marks the channel age-restricted (Discord `nsfw`) or the config lists it (`mature_channels`).
public enum ContentRating: String, Hashable, Sendable, Codable, CaseIterable {
    /// Fit for any channel (the default).
    case general
    /// Only for age-restricted channels.
    case mature
}

extension Persona {
    /// Whether the persona may answer only in age-restricted channels.
    public var isMature: Bool { contentRating == .mature }
}

extension PlatformSettings {
    /// Channels (IRC, case-insensitive) or rooms (Matrix) listed in `mature_channels`, where mature personas may answer.
    public var matureChannels: [String] { strings("mature_channels") ?? [] }

    /// Personas users may talk to in direct messages (`dm_personas`), the first being the default; empty: direct
    /// messages get no answer.
    public var dmPersonas: [String] { strings("dm_personas") ?? [] }

    /// Whether `channel` is listed in `mature_channels`; IRC channel names compare without case.
    public func listsMatureChannel(_ channel: String) -> Bool {
        platform == "irc" ? matureChannels.contains { $0.lowercased() == channel.lowercased() } : matureChannels.contains(channel)
    }
}
