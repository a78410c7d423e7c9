import Foundation
import Testing
@testable import PlatformDiscord

@Suite struct DiscordMessageBuilderTests {
    func object(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test func everyBodyHasEmptyAllowedMentionsParse() throws {
        let text = "@everyone <@&123> <@456> hi"
        for body in [
            DiscordMessageBuilder.create(content: text), DiscordMessageBuilder.create(content: text, replyTo: "9"),
            DiscordMessageBuilder.edit(content: text),
            DiscordMessageBuilder.webhookExecute(content: text, username: "Aria", avatarURL: "https://x/a.png"),
        ] {
            let json = try object(body)
            let mentions = try #require(json["allowed_mentions"] as? [String: Any])
            #expect((mentions["parse"] as? [Any])?.isEmpty == true)
            #expect(json["content"] as? String == text)
        }
    }

    @Test func replyUsesMessageReferenceThatMayBeMissing() throws {
        let json = try object(DiscordMessageBuilder.create(content: "x", replyTo: "42"))
        let ref = try #require(json["message_reference"] as? [String: Any])
        #expect(ref["message_id"] as? String == "42")
        #expect(ref["fail_if_not_exists"] as? Bool == false)
        let hook = try object(DiscordMessageBuilder.webhookExecute(content: "x", username: "Aria", avatarURL: nil))
        #expect(hook["username"] as? String == "Aria" && hook["message_reference"] == nil)
    }
}
