import Testing
@testable import PlatformDiscord

@Suite struct DiscordPermissionsTests {
    let roles: [String: DiscordPermissions] = ["G": [.viewChannel], "mod": [.manageChannels], "admin": [.administrator]]

    func perms(_ roleIDs: [String], _ overwrites: [DiscordPermissions.Overwrite], user: String = "U") -> DiscordPermissions {
        DiscordPermissions.compute(guildID: "G", ownerID: "O", userID: user, memberRoleIDs: roleIDs, rolePermissions: roles, overwrites: overwrites)
    }

    @Test func rolesAndOverwritesApplyInOrder() {
        #expect(!perms([], []).isModerator)
        #expect(perms(["mod"], []).isModerator)
        // Role overwrite denies, member overwrite re-allows.
        let denyMod = DiscordPermissions.Overwrite(id: "mod", kind: .role, allow: [], deny: [.manageChannels])
        #expect(!perms(["mod"], [denyMod]).isModerator)
        let allowUser = DiscordPermissions.Overwrite(id: "U", kind: .member, allow: [.manageChannels], deny: [])
        #expect(perms(["mod"], [denyMod, allowUser]).isModerator)
        // @everyone overwrite is overridden by a role allow.
        let everyoneDeny = DiscordPermissions.Overwrite(id: "G", kind: .role, allow: [], deny: [.viewChannel])
        let modView = DiscordPermissions.Overwrite(id: "mod", kind: .role, allow: [.viewChannel], deny: [])
        #expect(!perms([], [everyoneDeny]).contains(.viewChannel))
        #expect(perms(["mod"], [everyoneDeny, modView]).contains(.viewChannel))
    }

    @Test func administratorAndOwnerGetEverything() {
        let denyAll = DiscordPermissions.Overwrite(id: "U", kind: .member, allow: [], deny: .all)
        #expect(perms(["admin"], [denyAll]) == .all)
        #expect(perms([], [denyAll], user: "O") == .all)
        #expect(DiscordPermissions(string: "48") == [.manageChannels, .manageGuild])
        #expect(DiscordPermissions(string: "x") == nil)
    }
}
