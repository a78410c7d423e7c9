import BridgeCore
import HTTPTransport
import Logging
import Storage
import Testing
@testable import PlatformDiscord

/// A new message's way in: straight on (converted under one lock) unless the proxy hold has something to do.
@Suite struct DiscordArrivalTests {
    static let guild = "900000000000000100"
    static let proxyChannel = "900000000000000301"
    static let otherChannel = "900000000000000302"

    static func platform(proxyWait: Duration = .milliseconds(1_500)) throws -> DiscordPlatform {
        var configuration = DiscordPlatformConfiguration(token: "t", apiBaseURL: "http://127.0.0.1:9/api/v10", slashCommands: .off,
                                                         boundChannels: [.init(channelID: proxyChannel, guildID: guild),
                                                                         .init(channelID: otherChannel, guildID: guild)])
        configuration.proxyWait = proxyWait
        configuration.proxyChannels = [proxyChannel]
        let logger = Logger(label: "test.discord-arrival")
        return DiscordPlatform(configuration: configuration, http: HTTPClient(logger: logger), store: try SQLiteStore.inMemory(), logger: logger)
    }

    static func message(_ id: Int, in channel: String, guild: String? = DiscordArrivalTests.guild) throws -> DiscordMessage {
        let guildField = guild.map { #","guild_id":"\#($0)""# } ?? ""
        let json = #"{"op":0,"s":1,"t":"MESSAGE_CREATE","d":{"id":"\#(1_000 + id)","channel_id":"\#(channel)"\#(guildField),"#
            + #""author":{"id":"900000000000000403","username":"alice"},"content":"hello \#(id)","mentions":[],"mention_roles":[],"attachments":[]}}"#
        guard case .messageCreate(let message) = try GatewayPayload.decode(Array(json.utf8)).event else {
            throw DiscordArrivalTestError()
        }
        return message
    }

    @Test("outside a proxy channel a human message passes straight on, converted")
    func outsideAProxyChannelItPassesOn() throws {
        let platform = try Self.platform()
        guard case .passesOn(let event) = platform.arrival(try Self.message(1, in: Self.otherChannel)) else {
            Issue.record("the message did not pass straight on")
            return
        }
        #expect(event.messageID == "1001")
        #expect(event.text == "hello 1")
        #expect(event.channel.channelID == Self.otherChannel)
    }

    @Test("in a proxy channel a message is held; the one that fills the hold releases the oldest and does not pass on itself")
    func aFullHoldReleasesTheOldest() throws {
        let platform = try Self.platform()
        for i in 0..<32 {
            guard case .actions(let actions) = platform.arrival(try Self.message(i, in: Self.proxyChannel)), actions.isEmpty else {
                Issue.record("message \(i) was not held")
                return
            }
        }
        switch platform.arrival(try Self.message(32, in: Self.proxyChannel)) {
        case .passesOn(let event):
            Issue.record("the newest message \(event.messageID) passed on while older ones were held")
        case .actions(let actions):
            guard actions.count == 1, case .emit(let released) = actions[0] else {
                Issue.record("expected the oldest released, got \(actions.count) actions")
                return
            }
            #expect(released.id == "1000")
        }
        #expect(platform.proxyHeldCount == 32)
    }

    @Test("with proxy handling off, and in a DM, messages pass straight on")
    func withoutTheHoldItPassesOn() throws {
        let off = try Self.platform(proxyWait: .zero)
        guard case .passesOn = off.arrival(try Self.message(1, in: Self.proxyChannel)) else {
            Issue.record("held with proxy handling off")
            return
        }
        let on = try Self.platform()
        guard case .passesOn(let event) = on.arrival(try Self.message(2, in: "900000000000000999", guild: nil)) else {
            Issue.record("a DM was held")
            return
        }
        #expect(event.channel.isDirect)
    }

    @Test("a channel learned as a thread after its first messages: the next ones name its parent")
    func aChannelLearnedLaterIsNotRememberedStale() async throws {
        let platform = try Self.platform(proxyWait: .zero)
        let thread = "900000000000000351"
        guard case .passesOn(let before) = platform.arrival(try Self.message(1, in: thread)) else {
            Issue.record("the message did not pass on")
            return
        }
        #expect(before.channel.parentID == nil, "nothing is known of the channel yet")
        let update = #"{"op":0,"s":2,"t":"CHANNEL_UPDATE","d":{"id":"\#(thread)","type":11,"guild_id":"\#(Self.guild)","#
            + #""parent_id":"\#(Self.otherChannel)","name":"side quest"}}"#
        await platform.ingest(try GatewayPayload.decode(Array(update.utf8)))
        guard case .passesOn(let after) = platform.arrival(try Self.message(2, in: thread)) else {
            Issue.record("the message did not pass on")
            return
        }
        #expect(after.channel.parentID == Self.otherChannel)
        #expect(after.channel.channelName == "side quest")
    }

    @Test("messages round-robin over more channels than the recent list keeps: each gets its channel, bound ones their mark")
    func manyChannelsEachKeepTheirOwnChannelAndMark() throws {
        let platform = try Self.platform(proxyWait: .zero)
        let channels = [Self.proxyChannel, Self.otherChannel] + (0..<18).map { "9000000000000004\(10 + $0)" }
        var id = 0
        for _ in 0..<3 {
            for channel in channels {
                id += 1
                guard case .passesOn(let event) = platform.arrival(try Self.message(id, in: channel)) else {
                    Issue.record("message \(id) did not pass on")
                    return
                }
                #expect(event.channel.channelID == channel && event.channel.serverID == Self.guild)
            }
        }
        // A DM in a channel with a guild's id would be another conversation: the guild is part of what is looked up,
        // even right after a guild message there.
        guard case .passesOn = platform.arrival(try Self.message(id + 1, in: Self.otherChannel)) else {
            Issue.record("message \(id + 1) did not pass on")
            return
        }
        id += 1
        guard case .passesOn(let direct) = platform.arrival(try Self.message(id + 1, in: Self.otherChannel, guild: nil)) else {
            Issue.record("the DM did not pass on")
            return
        }
        #expect(direct.channel.isDirect)
        let marks = platform.catchUpMarks.withLock { m in
            Dictionary(uniqueKeysWithValues: channels.compactMap { id in m.newestDelivered(in: id).map { (id, String($0)) } })
        }
        // Only the bound channels keep catch-up marks; each holds the newest id delivered in it.
        #expect(marks.keys.sorted() == [Self.proxyChannel, Self.otherChannel].sorted())
        #expect(marks[Self.proxyChannel] == "\(1_000 + 2 * channels.count + 1)")
        #expect(marks[Self.otherChannel] == "\(1_000 + id + 1)")
    }
}

struct DiscordArrivalTestError: Error {}
