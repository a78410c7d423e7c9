extension DiscordRoute {
    /// `GET /gateway/bot`.
    public static let gatewayBot = DiscordRoute(method: "GET", template: "/gateway/bot", majorParameter: "", path: "/gateway/bot")

    /// `POST /channels/{c}/messages`.
    public static func createMessage(channelID: String) -> DiscordRoute {
        DiscordRoute(method: "POST", template: "/channels/{channel_id}/messages", majorParameter: channelID,
                     path: "/channels/\(channelID)/messages")
    }

    /// `PATCH /channels/{c}/messages/{m}` (a streamed edit); without a message id it names only the bucket every
    /// edit in the channel shares.
    public static func editMessage(channelID: String, messageID: String? = nil) -> DiscordRoute {
        let template = "/channels/{channel_id}/messages/{message_id}"
        return DiscordRoute(method: "PATCH", template: template, majorParameter: channelID,
                            path: messageID.map { "/channels/\(channelID)/messages/\($0)" } ?? template)
    }

    /// `GET /channels/{c}/messages?after=…&limit=…` (catch-up).
    public static func listMessages(channelID: String, after: String, limit: Int) -> DiscordRoute {
        DiscordRoute(method: "GET", template: "/channels/{channel_id}/messages", majorParameter: channelID,
                     path: "/channels/\(channelID)/messages?after=\(after)&limit=\(limit)")
    }

    /// `POST /channels/{c}/typing`.
    public static func typing(channelID: String) -> DiscordRoute {
        DiscordRoute(method: "POST", template: "/channels/{channel_id}/typing", majorParameter: channelID,
                     path: "/channels/\(channelID)/typing")
    }

    /// `POST /channels/{c}/webhooks`.
    public static func createWebhook(channelID: String) -> DiscordRoute {
        DiscordRoute(method: "POST", template: "/channels/{channel_id}/webhooks", majorParameter: channelID,
                     path: "/channels/\(channelID)/webhooks")
    }

    /// `POST /webhooks/{id}/{token}?wait=true`, into `threadID` when set.
    public static func executeWebhook(id: String, token: String, threadID: String? = nil) -> DiscordRoute {
        DiscordRoute(method: "POST", template: "/webhooks/{webhook_id}/{webhook_token}", majorParameter: id + "/" + token,
                     path: "/webhooks/\(id)/\(token)?wait=true" + (threadID.map { "&thread_id=\($0)" } ?? ""))
    }

    /// `PATCH /webhooks/{id}/{token}/messages/{m}`, in `threadID` when set; without a message id it names only the
    /// webhook's edit bucket.
    public static func editWebhookMessage(id: String, token: String, messageID: String? = nil,
                                          threadID: String? = nil) -> DiscordRoute {
        let template = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
        return DiscordRoute(method: "PATCH", template: template, majorParameter: id + "/" + token,
                            path: messageID.map { "/webhooks/\(id)/\(token)/messages/\($0)" + (threadID.map { "?thread_id=\($0)" } ?? "") }
                                ?? template)
    }

    /// `POST /interactions/{id}/{token}/callback`.
    public static func interactionCallback(id: String, token: String) -> DiscordRoute {
        DiscordRoute(method: "POST", template: "/interactions/{interaction_id}/{interaction_token}/callback",
                     majorParameter: id + "/" + token, path: "/interactions/\(id)/\(token)/callback")
    }

    /// `PATCH /webhooks/{application}/{token}/messages/@original`: the answer to a deferred interaction.
    public static func editOriginalResponse(applicationID: String, token: String) -> DiscordRoute {
        DiscordRoute(method: "PATCH", template: "/webhooks/{application_id}/{interaction_token}/messages/@original",
                     majorParameter: applicationID + "/" + token, path: "/webhooks/\(applicationID)/\(token)/messages/@original")
    }

    /// `PUT /applications/{a}/commands` or `/applications/{a}/guilds/{g}/commands`.
    public static func overwriteCommands(applicationID: String, guildID: String?) -> DiscordRoute {
        DiscordRoute(method: "PUT", template: guildID == nil ? "/applications/{application_id}/commands"
                        : "/applications/{application_id}/guilds/{guild_id}/commands",
                     majorParameter: guildID ?? applicationID,
                     path: guildID.map { "/applications/\(applicationID)/guilds/\($0)/commands" } ?? "/applications/\(applicationID)/commands")
    }
}
