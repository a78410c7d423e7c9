import Foundation
@testable import PlatformDiscord
import Testing

/// The invite's permission integer and the onboarding payload decoders, without I/O.
@Suite struct DiscordInviteTests {
    static let base: UInt64 = (1 << 10) | (1 << 11) | (1 << 16) | (1 << 38)
    static let webhooks: UInt64 = 1 << 29

    @Test(arguments: [false, true])
    func thePermissionIntegerFollowsUseWebhooks(_ useWebhooks: Bool) {
        let expected = useWebhooks ? Self.base | Self.webhooks : Self.base
        let invite = DiscordInvite(applicationID: "42", useWebhooks: useWebhooks)
        #expect(invite.permissionBits.rawValue == expected)
        #expect(invite.url == "https://discord.com/oauth2/authorize?client_id=42&scope=bot+applications.commands&permissions=\(expected)")
        #expect(invite.permissions.allSatisfy { !$0.reason.isEmpty && !$0.reason.contains("\n") }, "one line each")
    }

    @Test func messageContentIsAllowedByEitherApplicationFlag() {
        #expect(DiscordApplicationFlags(rawValue: 1 << 18).allowsMessageContent)
        #expect(DiscordApplicationFlags(rawValue: 1 << 19).allowsMessageContent)
        #expect(!DiscordApplicationFlags(rawValue: 1 << 23 | 1 << 17).allowsMessageContent)
    }

    @Test func channelAndGuildDecodePermissionsAsStringsOrNumbers() throws {
        let channel = try JSONDecoder().decode(DiscordChannelInfo.self, from: Data("""
            {"id": "5", "type": 11, "guild_id": "1", "parent_id": "4",
             "permission_overwrites": [{"id": "1", "type": 0, "allow": "0", "deny": "1024"}, {"id": "9", "type": 1, "allow": 2048, "deny": 0}]}
            """.utf8))
        #expect(channel.isThread && channel.parentID == "4")
        #expect(channel.overwrites == [
            .init(id: "1", kind: .role, allow: [], deny: .viewChannel),
            .init(id: "9", kind: .member, allow: .sendMessages, deny: []),
        ])
        let guild = try JSONDecoder().decode(DiscordGuildInfo.self, from: Data("""
            {"id": "1", "name": "G", "owner_id": "7", "roles": [{"id": "1", "permissions": "3072"}, {"id": "2", "permissions": 536870912}]}
            """.utf8))
        #expect(guild.rolePermissions == ["1": [.viewChannel, .sendMessages], "2": .manageWebhooks])
    }
}
