extension DiscordRoute {
    /// `GET /gateway/bot`.
    public static let gatewayBot = DiscordRoute(method: "GET", template: "/gateway/bot", majorParameter: "")

    /// `POST /channels/{c}/messages`.
    public static func createMessage(channelID: String) -> DiscordRoute {
        DiscordRoute(method: "POST", template: "/channels/{channel_id}/messages", majorParameter: channelID)
    }

    /// `GET /channels/{c}/messages` (catch-up).
    public static func listMessages(channelID: String) -> DiscordRoute {
        DiscordRoute(method: "GET", template: "/channels/{channel_id}/messages", majorParameter: channelID)
    }

    /// `POST /channels/{c}/typing`.
    public static func typing(channelID: String) -> DiscordRoute {
        DiscordRoute(method: "POST", template: "/channels/{channel_id}/typing", majorParameter: channelID)
    }

    /// `POST /channels/{c}/webhooks`.
    public static func createWebhook(channelID: String) -> DiscordRoute {
        DiscordRoute(method: "POST", template: "/channels/{channel_id}/webhooks", majorParameter: channelID)
    }

    /// `POST /webhooks/{id}/{token}`.
    public static func executeWebhook(id: String, token: String) -> DiscordRoute {
        DiscordRoute(method: "POST", template: "/webhooks/{webhook_id}/{webhook_token}", majorParameter: id + "/" + token)
    }

    /// `PATCH /webhooks/{id}/{token}/messages/{m}`.
    public static func editWebhookMessage(id: String, token: String) -> DiscordRoute {
        DiscordRoute(method: "PATCH", template: "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
                     majorParameter: id + "/" + token)
    }

    /// `POST /interactions/{id}/{token}/callback`.
    public static func interactionCallback(id: String, token: String) -> DiscordRoute {
        DiscordRoute(method: "POST", template: "/interactions/{interaction_id}/{interaction_token}/callback",
                     majorParameter: id + "/" + token)
    }

    /// `PUT /applications/{a}/commands` or `/applications/{a}/guilds/{g}/commands`.
    public static func overwriteCommands(applicationID: String, guildID: String?) -> DiscordRoute {
        DiscordRoute(method: "PUT", template: guildID == nil ? "/applications/{application_id}/commands"
                        : "/applications/{application_id}/guilds/{guild_id}/commands",
                     majorParameter: guildID ?? applicationID)
    }
}
