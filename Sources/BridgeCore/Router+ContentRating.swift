import BridgeConfig
import Foundation
import Logging

extension PlatformSender {
    /// Platforms without age-restricted channels of their own rely on `mature_channels` in the config.
    public func allowsMatureContent(in channel: ChannelRef) async -> Bool { false }
}

extension RouterConfiguration {
    /// Whether `[platforms.<platform>] mature_channels` lists the channel (IRC names without case).
    func listsMatureChannel(_ channel: ChannelRef) -> Bool {
        guard let listed = matureChannels[channel.platform] else { return false }
        if channel.platform == "irc" { return listed.contains { $0.lowercased() == channel.channelID.lowercased() } }
        return listed.contains(channel.channelID)
    }
}

extension Router {
    /// How often a moderator is told, per channel and persona, why a mature persona keeps quiet there.
    static let matureNoticeInterval: Duration = .seconds(600)

    /// Whether mature personas may answer in `channel`: listed in the config, or age-restricted on the platform
    /// (asked each time, so a Discord CHANNEL_UPDATE turning `nsfw` off takes effect at once).
    func allowsMature(in channel: ChannelRef, platform: any PlatformSender) async -> Bool {
        if configurationForReplies.listsMatureChannel(channel) { return true }
        return await platform.allowsMatureContent(in: channel)
    }

    /// The reply for binding a mature persona where it may not answer, or nil when it may.
    func matureBindingRefusal(_ persona: Persona, in channel: ChannelRef, platform: any PlatformSender) async -> String? {
        guard persona.isMature, await !allowsMature(in: channel, platform: platform) else { return nil }
        return "\(persona.displayName) is a mature persona and answers only in age-restricted channels; "
            + Self.matureHint(for: channel.platform) + " Nothing was changed."
    }

    static func matureHint(for platform: String) -> String {
        switch platform {
        case "discord": "this channel is not marked age-restricted in Discord's channel settings."
        case "irc", "matrix": "this channel is not listed in [platforms.\(platform)] mature_channels."
        default: "\(platform) has no age-restricted channels."
        }
    }

    /// The personas that may answer `message`: mature ones are left out unless the channel allows them. When one
    /// is left out and the message addresses it, a moderator (never anyone else) is told why, at most once per
    /// `matureNoticeInterval` per channel and persona.
    func allowedPersonas(_ personas: [Persona], for message: IncomingMessage, platform: any PlatformSender,
                         logger: Logger) async -> [Persona] {
        guard personas.contains(where: \.isMature), await !allowsMature(in: message.channel, platform: platform) else { return personas }
        let silenced = personas.filter(\.isMature)
        let lower = message.text.lowercased()
        let addressed = silenced.filter { persona in
            message.mentionsUs || ([persona.name, persona.displayName] + persona.aliases).contains { lower.contains($0.lowercased()) }
        }
        if let persona = addressed.first, !message.author.isBot {
            logger.info("mature persona not answering outside an age-restricted channel",
                        metadata: ["persona": "\(persona.name)", "message-id": "\(message.messageID)"])
            let slot = "\(message.channel.key)|\(persona.name)"
            let now = elapsedNow
            let due = matureNotices.withLock { notices in
                if let last = notices[slot], now - last < Self.matureNoticeInterval { return false }
                return true
            }
            var moderator = false
            if due {
                moderator = configurationForReplies.isAdmin(message.author, on: message.channel.platform)
                if !moderator { moderator = await platform.isModerator(message.author, in: message.channel) }
            }
            if moderator {
                matureNotices.withLock { $0[slot] = now }
                let text = "(\(persona.displayName) is a mature persona and stays quiet here: " + Self.matureHint(for: message.channel.platform) + ")"
                do {
                    _ = try await platform.send(text, in: message.channel, replyTo: message.messageID, as: nil)
                } catch {
                    logger.warning("could not send the mature-persona notice", metadata: ["error": "\(error)"])
                }
            }
        }
        return personas.filter { !$0.isMature }
    }
}
