extension DiscordRoute {
    /// `POST /webhooks/{application}/{token}`: a follow-up message to an interaction.
    public static func interactionFollowup(applicationID: String, token: String) -> DiscordRoute {
        DiscordRoute(method: "POST", template: "/webhooks/{application_id}/{interaction_token}",
                     majorParameter: applicationID + "/" + token, path: "/webhooks/\(applicationID)/\(token)")
    }
}
