/// The OAuth2 invite a server owner opens to add the bot: the scopes and the permissions the config needs.
public struct DiscordInvite: Hashable, Sendable {
    /// One permission the bot asks for, with why.
    public struct Permission: Hashable, Sendable {
        /// The bit.
        public var bits: DiscordPermissions
        /// Discord's name for it, as the Developer Portal and server settings show it.
        public var name: String
        /// One line: what the bridge does with it.
        public var reason: String
    }

    /// The application (OAuth2 client) id.
    public var applicationID: String
    /// What the bot asks for, in the order it is explained.
    public var permissions: [Permission]

    /// The OAuth2 scopes: the bot user, and slash commands.
    public static let scopes = ["bot", "applications.commands"]

    /// The permissions a bridge with these options uses.
    /// - Parameters:
    ///   - useWebhooks: `use_webhooks`: personas speak through a channel webhook (their own name and avatar).
    /// Add Reactions is never asked for: the bridge adds no reactions.
    public init(applicationID: String, useWebhooks: Bool) {
        self.applicationID = applicationID
        var list: [Permission] = [
            Permission(bits: .viewChannel, name: "View Channel", reason: "see the bound channels and the messages posted there"),
            Permission(bits: .sendMessages, name: "Send Messages", reason: "post the personas' replies and stream them by editing"),
            Permission(bits: .sendMessagesInThreads, name: "Send Messages in Threads",
                       reason: "answer in threads bound in [[channels]]"),
            Permission(bits: .readMessageHistory, name: "Read Message History",
                       reason: "reply to a message, and answer what was said while the bridge was down (catch-up)"),
        ]
        if useWebhooks {
            list.append(Permission(bits: .manageWebhooks, name: "Manage Webhooks",
                                   reason: "create one webhook per channel so each persona speaks with its own name and avatar"))
        }
        permissions = list
    }

    /// The permission integer of the invite URL.
    public var permissionBits: DiscordPermissions {
        permissions.reduce(into: DiscordPermissions()) { $0.formUnion($1.bits) }
    }

    /// `https://discord.com/oauth2/authorize?client_id=…&scope=bot+applications.commands&permissions=…`.
    public var url: String {
        "https://discord.com/oauth2/authorize?client_id=\(applicationID)&scope=\(Self.scopes.joined(separator: "+"))"
            + "&permissions=\(permissionBits.rawValue)"
    }
}
