/// One `[platforms.<name>] relays` entry: a relay bot (matterbridge, a Discord webhook relay) whose messages carry
/// other people's words, and how to read the real speaker's name out of them.
public struct RelaySettings: Hashable, Sendable {
    /// Where the real speaker's name and words are read from.
    public enum Source: Hashable, Sendable {
        /// The message text, by a pattern with named groups `nick` and `text`.
        case text(pattern: String)
        /// The relay's per-message display name (a Discord webhook's username), by a pattern with a named group
        /// `nick`; the whole message text is the speaker's.
        case authorName(pattern: String)
    }

    /// Who the relay is: IRC nick (case-insensitive) or `account:`/`host:` identity, Discord user or webhook id,
    /// Matrix user id, console speaker.
    public var user: String
    /// How its messages are read.
    public var source: Source
    /// The built-in format the entry named (`format = "…"`), nil for its own `pattern`.
    public var format: RelayFormat?

    /// Creates an entry.
    public init(user: String, source: Source, format: RelayFormat? = nil) {
        self.user = user
        self.source = source
        self.format = format
    }

    /// An entry using a built-in format.
    public init(user: String, format: RelayFormat) {
        self.init(user: user, source: format.source, format: format)
    }

    /// The pattern, whichever part of the message it reads.
    public var pattern: String {
        switch source {
        case .text(let pattern), .authorName(let pattern): pattern
        }
    }
}

/// Relay formats the bridge knows by name (`format = "matterbridge"`).
public enum RelayFormat: String, Hashable, Sendable, CaseIterable {
    /// matterbridge's default `RemoteNickFormat` `[{PROTOCOL}] <{NICK}> `, and the common `<{NICK}> `.
    case matterbridge
    /// A relay posting through a Discord webhook named after the speaker, often with the network in brackets
    /// (`alice (irc)`, `alice [irc]`, `[irc] alice`); the message is the speaker's text.
    case discordWebhook = "discord-webhook"

    /// How the format reads a message.
    public var source: RelaySettings.Source {
        switch self {
        case .matterbridge:
            .text(pattern: #"^(?:\[(?<protocol>[^\]\r\n]{1,32})\] ?)?<(?<nick>[^>\r\n]{1,64})> (?<text>.*)$"#)
        case .discordWebhook:
            .authorName(pattern: #"^(?:\[[^\]]{1,32}\] *)?(?<nick>.+?)(?: *(?:\([^)]{1,32}\)|\[[^\]]{1,32}\]))?$"#)
        }
    }
}

extension PlatformSettings {
    /// The relay bots of this platform (`relays`), as validated by the loader.
    public var relays: [RelaySettings] {
        (values["relays"]?.arrayValue ?? []).compactMap { item in
            guard let table = item.tableValue, let user = table["user"]?.stringValue,
                  let pattern = table["pattern"]?.stringValue else { return nil }
            let format = table["format"]?.stringValue.flatMap(RelayFormat.init(rawValue:))
            let source: RelaySettings.Source = table["reads"]?.stringValue == "name" ? .authorName(pattern: pattern) : .text(pattern: pattern)
            return RelaySettings(user: user, source: source, format: format)
        }
    }
}
