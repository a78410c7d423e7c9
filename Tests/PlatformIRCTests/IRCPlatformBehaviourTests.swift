import BridgeCore
import Foundation
import Logging
import PBTestSupport
@testable import PlatformIRC
import Synchronization
import Testing

/// Collects the platform's events in the background.
final class EventLog: Sendable {
    private let events = Mutex<[PlatformEvent]>([])
    private let task = Mutex<Task<Void, Never>?>(nil)

    static func start(_ platform: IRCPlatform) -> EventLog {
        let log = EventLog()
        let t = Task { [log] in
            for await event in platform.events { log.append(event) }
        }
        log.task.withLock { $0 = t }
        return log
    }

    private func append(_ event: PlatformEvent) { events.withLock { $0.append(event) } }

    var messages: [IncomingMessage] {
        events.withLock { $0.compactMap { if case .messageCreated(let m) = $0 { m } else { nil } } }
    }
}

@Suite struct IRCPlatformUnitTests {
    @Test func mentionsNeedAWholeWord() {
        let m = IRCCaseMapping("rfc1459")
        #expect(IRCPlatform.mentions("aria: hello", nick: "aria", mapping: m))
        #expect(IRCPlatform.mentions("hi ARIA!", nick: "aria", mapping: m))
        #expect(IRCPlatform.mentions("ok [bot]", nick: "[bot]", mapping: m))
        #expect(!IRCPlatform.mentions("arianne is here", nick: "aria", mapping: m))
        #expect(!IRCPlatform.mentions("maria says hi", nick: "aria", mapping: m))
        #expect(!IRCPlatform.mentions("aria_ left", nick: "aria", mapping: m))
    }

    @Test func backoffDoublesUpToTheCap() {
        let platform = IRCPlatform(configuration: IRCPlatformConfiguration(
            host: "127.0.0.1", nick: "aria", reconnectInitialDelay: .seconds(1), reconnectMaxDelay: .seconds(10)),
            logger: Logger(label: "test"))
        #expect((0..<6).map { platform.backoff(failures: $0) } == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(10), .seconds(10)])
        #expect(platform.backoff(failures: 1_000) == .seconds(10))
    }

    @Test func capabilitiesAndEdit() async throws {
        let platform = IRCPlatform(configuration: IRCPlatformConfiguration(host: "127.0.0.1", nick: "aria",
                                                                           channels: [IRCChannelJoin(name: "#test")]),
                                   logger: Logger(label: "test"))
        #expect(platform.capabilities.canEdit == false)
        #expect(platform.capabilities.lengthUnit == .utf8Bytes)
        #expect(platform.capabilities.textFormat == .irc)
        #expect((300...450).contains(platform.capabilities.maxLength))
        let ref = SentMessageRef(channel: platform.channel("#test"), messageID: "x")
        await #expect(throws: IRCPlatformError.self) { try await platform.edit(ref, text: "y") }
    }
}

@Suite(.serialized) struct IRCPlatformBehaviourTests {
    @Test func incomingMessagesActionsAndCTCP() async throws {
        let server = try await Ngircd.start()
        defer { server.stop() }
        let alice = try await IRCHuman.connect(port: server.port, nick: "alice")
        try await alice.join("#test")
        let platform = IRCPlatform(configuration: botConfiguration(port: server.port, channels: ["#test"]),
                                   logger: Logger(label: "test.irc"))
        let log = EventLog.start(platform)
        let task = runPlatform(platform)
        _ = try await alice.waitFor("aria joins #test") { $0.hasPrefix(":aria!") && $0.contains(" JOIN ") }
        try await alice.send("PRIVMSG #test :\u{02}aria\u{02}: \u{03}4hello\u{03}")
        try await alice.send("PRIVMSG #test :just chatting")
        try await alice.send("PRIVMSG #test :\u{01}ACTION waves at Aria\u{01}")
        try await alice.send("PRIVMSG aria :\u{01}VERSION\u{01}")
        try await alice.send("PRIVMSG aria :private hi")
        try await alice.socket.send(Array("PRIVMSG #test :caf".utf8) + [0xE9, 0x0D, 0x0A])  // Latin-1 é
        try await alice.send("PRIVMSG aria :\u{01}PING 12345\u{01}")
        let version = try await alice.waitFor("CTCP VERSION reply") { $0.contains("NOTICE alice :\u{01}VERSION ") }
        #expect(version.hasPrefix(":aria!"))
        _ = try await alice.waitFor("CTCP PING reply") { $0.hasPrefix(":aria!") && $0.hasSuffix("NOTICE alice :\u{01}PING 12345\u{01}") }
        try await eventually("five messages") { log.messages.count >= 5 }
        let m = log.messages
        #expect(m.map(\.text) == ["aria: hello", "just chatting", "waves at Aria", "private hi", "café"])
        // A private message is addressed to the bot (as a Discord DM is), and a scene of the sender's own.
        #expect(m.map(\.mentionsUs) == [true, false, true, true, false])
        #expect(m.map(\.channel.isDirect) == [false, false, false, true, false])
        #expect(m[3].channel.sceneOwner?.hasPrefix("host:") == true && m[3].channel.key.hasSuffix(":alice~" + (m[3].channel.sceneOwner ?? "")))
        #expect(m.allSatisfy { $0.author.id == "alice" && !$0.isOwnMessage })
        #expect(m.map(\.channel.channelID) == ["#test", "#test", "#test", "alice", "#test"])
        #expect(Set(m.map(\.messageID)).count == 5)
        task.cancel()
        await task.value
        await alice.close()
    }

    @Test(arguments: IRCServerKind.allCases) func takenNickUsesAlternativeAndRegainsIt(_ kind: IRCServerKind) async throws {
        let server = try await IRCTestServer.start(kind)
        defer { server.stop() }
        let squatter = try await IRCHuman.connect(port: server.port, nick: "aria")
        var configuration = botConfiguration(port: server.port, channels: ["#test"])
        configuration.alternativeNicks = ["aria_alt"]
        configuration.nickRegainInterval = .milliseconds(300)
        let platform = IRCPlatform(configuration: configuration, logger: Logger(label: "test.irc"))
        let task = runPlatform(platform)
        try await eventually("registered as aria_alt") { platform.isRegistered && platform.currentNick == "aria_alt" }
        // Stays: a failed regain attempt (NICK aria answered 433) records nothing a test can wait on; this spans
        // three regain periods (300 ms), and the check is only that the bot keeps its working nick meanwhile.
        try await Task.sleep(for: .seconds(1))
        #expect(platform.currentNick == "aria_alt", "the nick is still taken")
        try await squatter.send("QUIT :bye")
        try await eventually("nick regained") { platform.currentNick == "aria" }
        task.cancel()
        await task.value
        await squatter.close()
    }

    @Test(arguments: IRCServerKind.allCases) func reconnectsAndRejoinsAfterServerRestart(_ kind: IRCServerKind) async throws {
        var server = try await IRCTestServer.start(kind)
        defer { server.stop() }  // whichever server is current when the test ends
        let port = server.port
        let platform = IRCPlatform(configuration: botConfiguration(port: port, channels: ["#test"]),
                                   logger: Logger(label: "test.irc"))
        let task = runPlatform(platform)
        try await eventually("joined first time") { platform.joinedChannels == ["#test"] }
        server.stop()
        try await eventually("noticed the drop") { !platform.isRegistered }
        server = try await IRCTestServer.start(kind, port: port)
        let alice = try await IRCHuman.connect(port: port, nick: "alice")
        try await alice.join("#test")
        // The bot may be back before alice (then NAMES lists it) or after (then alice sees its JOIN).
        _ = try await alice.waitFor("aria rejoins #test") {
            ($0.hasPrefix(":aria!") && $0.contains(" JOIN ")) || ($0.contains(" 353 alice ") && $0.contains("aria"))
        }
        try await eventually("aria's state shows #test") { platform.joinedChannels == ["#test"] }
        #expect(platform.joinedChannels == ["#test"])
        task.cancel()
        await task.value
        await alice.close()
    }
}
