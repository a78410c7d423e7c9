import BridgeCore

/// How the bridge sent a Discord message, which decides how it is edited.
enum DiscordSentMessage: SentMessageKind {
    /// A message with the persona's name in bold in front of its text (no webhook in the channel).
    case prefixed(displayName: String)
    /// A message executed through `webhook`, inside the thread `threadID` when set.
    case webhook(DiscordWebhook, threadID: String?)
}
