import BridgeCore
import Foundation

/// Builds REST JSON bodies; every body carries `allowed_mentions: {"parse": []}` so model text never pings.
public enum DiscordMessageBuilder {
    struct AllowedMentions: Encodable { var parse: [String] = [] }
    struct Reference: Encodable { var message_id: String; var fail_if_not_exists = false }
    struct Body: Encodable {
        var content: String
        var allowed_mentions = AllowedMentions()
        var message_reference: Reference?
        var username: String?
        var avatar_url: String?
    }

    private static func encode(_ body: Body) -> [UInt8] {
        var body = body
        // Discord renders `[label](url)` as a masked link: never let a URL-looking label hide a different target.
        body.content = MaskedLink.defused(body.content)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings cannot fail.
        return Array((try? encoder.encode(body)) ?? Data())
    }

    /// Body for `POST /channels/{c}/messages`, optionally as a reply.
    public static func create(content: String, replyTo messageID: String? = nil) -> [UInt8] {
        encode(Body(content: content, message_reference: messageID.map { Reference(message_id: $0) }))
    }

    /// Body for `PATCH /channels/{c}/messages/{m}` and the webhook message edit.
    public static func edit(content: String) -> [UInt8] {
        encode(Body(content: content))
    }

    /// Body for `POST /webhooks/{id}/{token}?wait=true` speaking as a persona.
    public static func webhookExecute(content: String, username: String, avatarURL: String?) -> [UInt8] {
        encode(Body(content: content, username: username, avatar_url: avatarURL))
    }
}
