import Testing
@testable import PlatformDiscord

@Suite struct GatewayPayloadTests {
    func decode(_ s: String) throws(GatewayDecodeError) -> GatewayPayload { try GatewayPayload.decode(Array(s.utf8)) }

    @Test func decodesHelloAndControlOpcodes() throws {
        #expect(try decode(#"{"op":10,"d":{"heartbeat_interval":41250}}"#).event == .hello(heartbeatInterval: .milliseconds(41250)))
        #expect(try decode(#"{"op":11}"#).event == .heartbeatAck)
        #expect(try decode(#"{"op":1,"d":null}"#).event == .heartbeatRequest)
        #expect(try decode(#"{"op":7,"d":null}"#).event == .reconnect)
        #expect(try decode(#"{"op":9,"d":true}"#).event == .invalidSession(resumable: true))
        #expect(try decode(#"{"op":9,"d":false}"#).event == .invalidSession(resumable: false))
        let unknown = try decode(#"{"op":42,"d":{}}"#)
        #expect(unknown.op == .unknown(42) && unknown.event == .unknownOpcode(42))
    }

    @Test func decodesReadyAndMessages() throws {
        let ready = try decode(#"{"op":0,"s":1,"t":"READY","d":{"v":10,"session_id":"abc","resume_gateway_url":"wss://r","user":{"id":"9","username":"bot","bot":true},"guilds":[{"id":"1","unavailable":true},{"x":1}]}}"#)
        guard case .ready(let r) = ready.event else { Issue.record("not ready"); return }
        #expect(r.sessionId == "abc" && r.resumeGatewayURL == "wss://r" && r.user.id == "9" && r.guildIds == ["1"])
        #expect(ready.s == 1)
        let create = try decode(#"{"op":0,"s":2,"t":"MESSAGE_CREATE","d":{"id":"5","channel_id":"7","guild_id":"1","author":{"id":"3","username":"u"},"content":"hi","mentions":[],"message_reference":{"message_id":"4"},"new_field":[1,2]}}"#)
        guard case .messageCreate(let m) = create.event else { Issue.record("not create"); return }
        #expect(m.content == "hi" && m.referencedMessageId == "4" && m.guildId == "1")
        let update = try decode(#"{"op":0,"s":3,"t":"MESSAGE_UPDATE","d":{"id":"5","channel_id":"7"}}"#)
        #expect(update.event == .messageUpdate(DiscordMessageUpdate(id: "5", channelId: "7")))
        let delete = try decode(#"{"op":0,"s":4,"t":"MESSAGE_DELETE","d":{"id":"5","channel_id":"7"}}"#)
        #expect(delete.event == .messageDelete(DiscordMessageDelete(id: "5", channelId: "7")))
        #expect(try decode(#"{"op":0,"s":5,"t":"SOMETHING_NEW","d":{}}"#).event == .unknownDispatch("SOMETHING_NEW"))
    }

    @Test func malformedPayloadsGiveTypedErrors() {
        #expect(throws: GatewayDecodeError.self) { try decode("not json") }
        #expect(throws: GatewayDecodeError.self) { try decode(#"{"op":"zero"}"#) }
        #expect(throws: GatewayDecodeError.self) { try decode(#"{"op":0,"t":"MESSAGE_CREATE","d":{"id":5}}"#) }
        #expect(throws: GatewayDecodeError.self) { try decode(#"{"op":10,"d":{"heartbeat_interval":-1}}"#) }
    }

    @Test func fuzzTenThousandMalformedPayloads() {
        var rng = ZlibStreamInflaterTests.SeededRNG(state: 7)
        let templates = [
            #"{"op":0,"s":1,"t":"MESSAGE_CREATE","d":{"id":"5","channel_id":"7","author":{"id":"3"},"content":"x"}}"#,
            #"{"op":0,"s":2,"t":"READY","d":{"session_id":"s","user":{"id":"1"},"guilds":[]}}"#,
            #"{"op":10,"d":{"heartbeat_interval":41250}}"#,
            #"{"op":9,"d":true}"#,
            #"{"op":0,"s":3,"t":"MESSAGE_UPDATE","d":{"id":"5","channel_id":"7"}}"#,
        ]
        var outcomes = [0, 0, 0]
        for _ in 0..<10_000 {
            var bytes = Array(templates[Int.random(in: 0..<templates.count, using: &rng)].utf8)
            switch Int.random(in: 0..<5, using: &rng) {
            case 0:  // flip bytes
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            case 1: bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
            case 2: bytes = Array(#"{"op":\#(Int.random(in: -5...100, using: &rng)),"t":"X_\#(Int.random(in: 0...9, using: &rng))","d":{}}"#.utf8)
            case 3: bytes = Array(#"{"op":0,"t":"MESSAGE_CREATE","d":{"id":"1","channel_id":"2","author":{"id":"3"},"content":""#.utf8)
                + [UInt8](repeating: 97, count: Int.random(in: 1000...200_000, using: &rng)) + Array(#""}}"#.utf8)
            default: bytes = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
            do {
                let payload = try GatewayPayload.decode(bytes)
                switch payload.event {
                case .unknownDispatch, .unknownOpcode: outcomes[1] += 1
                default: outcomes[0] += 1
                }
            } catch {
                outcomes[2] += 1
            }
        }
        #expect(outcomes.reduce(0, +) == 10_000)
        #expect(outcomes[1] > 0 && outcomes[2] > 0)
    }
}

@Suite struct GatewayGuildPayloadTests {
    @Test func decodesGuildCreateWithThreadsRolesAndMembers() throws {
        let json = #"{"op":0,"s":9,"t":"GUILD_CREATE","d":{"id":"G","owner_id":"O","roles":[{"id":"G","name":"@everyone","permissions":"1024"},{"id":"m","name":"mod","permissions":"16"},{"id":"bad","permissions":"x"}],"channels":[{"id":"C","type":0,"permission_overwrites":[{"id":"m","type":0,"allow":"0","deny":"16"},{"id":"z","type":7,"allow":"0","deny":"0"}]}],"threads":[{"id":"T","type":11,"parent_id":"C"}],"members":[{"user":{"id":"9"},"roles":["m"]}]}}"#
        guard case .guildCreate(let g) = try GatewayPayload.decode(Array(json.utf8)).event else { Issue.record("not guild"); return }
        #expect(g.roles.map(\.id) == ["G", "m"])
        #expect(g.channels.map(\.id) == ["C", "T"] && g.channels[1].parentId == "C")
        #expect(g.channels[0].overwrites.count == 1)
        #expect(g.members.first?.roles == ["m"])
        let thread = #"{"op":0,"s":10,"t":"THREAD_CREATE","d":{"id":"T2","type":11,"guild_id":"G","parent_id":"C"}}"#
        guard case .channelUpdate(let c) = try GatewayPayload.decode(Array(thread.utf8)).event else { Issue.record("not channel"); return }
        #expect(c.id == "T2" && c.parentId == "C")
    }
}

@Suite struct GatewayInteractionPayloadTests {
    @Test func decodesRolesAndInteractions() throws {
        let role = #"{"op":0,"s":1,"t":"GUILD_ROLE_UPDATE","d":{"guild_id":"G","role":{"id":"m","name":"mod","permissions":"32"}}}"#
        guard case .roleUpdate(let r) = try GatewayPayload.decode(Array(role.utf8)).event else { Issue.record("not role"); return }
        #expect(r.role.permissions == .manageGuild)
        let del = #"{"op":0,"s":2,"t":"GUILD_ROLE_DELETE","d":{"guild_id":"G","role_id":"m"}}"#
        #expect(try GatewayPayload.decode(Array(del.utf8)).event == .roleDelete(DiscordRoleDelete(guildId: "G", roleId: "m")))
        let ix = #"{"op":0,"s":3,"t":"INTERACTION_CREATE","d":{"id":"I","token":"tok","type":2,"channel_id":"C","guild_id":"G","member":{"user":{"id":"U"},"roles":[],"permissions":"16"},"data":{"name":"persona","options":[{"name":"set","type":1,"options":[{"name":"name","type":3,"value":"aria"},{"name":"n","type":4,"value":3}]}]}}}"#
        guard case .interactionCreate(let i) = try GatewayPayload.decode(Array(ix.utf8)).event else { Issue.record("not interaction"); return }
        #expect(i.commandName == "persona" && i.member?.permissions?.isModerator == true)
        #expect(i.options.first?.name == "set" && i.options.first?.options.map(\.value) == ["aria", "3"])
    }
}
