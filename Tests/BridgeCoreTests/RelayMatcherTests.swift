import BridgeConfig
@testable import BridgeCore
import Testing

@Suite("RelayMatcher: relays' messages credited to the speakers they name")
struct RelayMatcherTests {
    static let matcher = RelayMatcher(relays: [
        "irc": [RelaySettings(user: "matterbridge", format: .matterbridge),
                RelaySettings(user: "account:bridgebot", source: .text(pattern: #"^(?<nick>\w+)@\w+: (?<text>.*)$"#))],
        "discord": [RelaySettings(user: "900100", format: .discordWebhook)],
        "matrix": [RelaySettings(user: "@mb:example.org", format: .matterbridge)],
    ])

    static func message(_ text: String, from author: ChatUser, on platform: String = "irc") -> IncomingMessage {
        IncomingMessage(channel: ChannelRef(platform: platform, channelID: "#harbour", serverID: "net"), author: author,
                        messageID: "m1", text: text, mentionsUs: true)
    }

    static let relayNick = ChatUser(id: "MatterBridge", displayName: "MatterBridge", isBot: true, stableID: "host:mb@relay.example")

    func credited(_ outcome: RelayMatcher.Outcome) -> IncomingMessage? {
        if case .credited(let message) = outcome { return message }
        return nil
    }

    @Test("matterbridge's default [PROTOCOL] <NICK> prefix names the speaker; the nick compares without case on IRC")
    func matterbridgeDefault() throws {
        let original = Self.message("[discord] <alice> hey Aria, how are you?", from: Self.relayNick)
        let message = try #require(credited(Self.matcher.read(original)))
        #expect(message.author == ChatUser(id: "relay:host:mb@relay.example:alice", displayName: "alice", isBot: false))
        #expect(message.text == "hey Aria, how are you?")
        #expect(message.relayedBy == Self.relayNick)
        #expect(message.messageID == original.messageID && message.channel == original.channel && message.mentionsUs)

        let bare = try #require(credited(Self.matcher.read(Self.message("<bob> just <b>chatting</b>", from: Self.relayNick))))
        #expect(bare.author.displayName == "bob" && bare.text == "just <b>chatting</b>")
    }

    @Test("a relay's own line that names nobody is its status, never credited")
    func statusLine() {
        #expect(Self.matcher.read(Self.message("*** alice has joined #harbour", from: Self.relayNick)) == .relayStatus)
        #expect(Self.matcher.read(Self.message("[irc] <> empty nick", from: Self.relayNick)) == .relayStatus)
        #expect(Self.matcher.read(Self.message("[irc] <alice>    ", from: Self.relayNick)) == .relayStatus)
        let long = "[irc] <alice> " + String(repeating: "x", count: RelayMatcher.maxInputLength)
        #expect(Self.matcher.read(Self.message(long, from: Self.relayNick)) == .relayStatus, "overlong input is not matched")
    }

    @Test("other authors, our own messages, credited messages and other platforms pass as they are")
    func direct() throws {
        let human = ChatUser(id: "alice", displayName: "alice")
        #expect(Self.matcher.read(Self.message("[discord] <bob> hi", from: human)) == .direct)
        var own = Self.message("[discord] <bob> hi", from: Self.relayNick)
        own.isOwnMessage = true
        #expect(Self.matcher.read(own) == .direct)
        let once = try #require(credited(Self.matcher.read(Self.message("[x] <bob> <carol> hi", from: Self.relayNick))))
        #expect(once.author.displayName == "bob" && once.text == "<carol> hi")
        #expect(Self.matcher.read(once) == .direct, "a credited message is never read again")
        #expect(Self.matcher.read(Self.message("[irc] <bob> hi", from: Self.relayNick, on: "console")) == .direct)
        #expect(!Self.matcher.isRelayed(Self.message("hi", from: human)))
        #expect(Self.matcher.isRelayed(Self.message("hi", from: Self.relayNick)))
        #expect(RelayMatcher(relays: [:]).isEmpty)
    }

    @Test("an IRC relay can be named by its services account, with its own pattern")
    func accountAndCustomPattern() throws {
        let relay = ChatUser(id: "bb", displayName: "bb", isBot: false, stableID: "account:bridgebot")
        let message = try #require(credited(Self.matcher.read(Self.message("dora@matrix: ahoy Aria", from: relay))))
        #expect(message.author.id == "relay:account:bridgebot:dora")
        #expect(message.text == "ahoy Aria")
    }

    @Test("IRC colours around the nick and zero-width characters in it are dropped")
    func formatting() throws {
        let coloured = try #require(credited(Self.matcher.read(Self.message("[irc] <\u{03}04,01a\u{200B}lice\u{03}> \u{02}hi\u{02}", from: Self.relayNick))))
        #expect(coloured.author.displayName == "alice")
        #expect(coloured.text == "hi")
        #expect(RelayMatcher.clean("\u{03}12blue\u{0F} \u{04}FF00AAhex") == "blue hex")
        #expect(RelayMatcher.nick("  " + String(repeating: "n", count: 100)) == String(repeating: "n", count: 64))
    }

    @Test("a Discord webhook relay: the webhook's name is the speaker, with its network tag dropped; the text is theirs")
    func discordWebhook() throws {
        for (name, nick) in [("alice (irc)", "alice"), ("bob [matrix]", "bob"), ("[irc] carol", "carol"), ("dave", "dave")] {
            let relay = ChatUser(id: "900100", displayName: name, isBot: true)
            let message = try #require(credited(Self.matcher.read(Self.message("Aria, look!", from: relay, on: "discord"))), "\(name)")
            #expect(message.author == ChatUser(id: "relay:900100:\(nick)", displayName: nick, isBot: false))
            #expect(message.text == "Aria, look!")
        }
        let otherWebhook = ChatUser(id: "900200", displayName: "alice (irc)", isBot: true)
        #expect(Self.matcher.read(Self.message("hi", from: otherWebhook, on: "discord")) == .direct)
    }

    @Test("a relayed message over several lines keeps them all (Matrix, Discord)")
    func multiline() throws {
        let relay = ChatUser(id: "@mb:example.org", displayName: "matterbridge", isBot: false)
        let message = try #require(credited(Self.matcher.read(Self.message("[irc] <alice> line one\nline two", from: relay, on: "matrix"))))
        #expect(message.text == "line one\nline two")
    }
}
