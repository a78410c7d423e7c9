import BridgeConfig
import BridgeCore
import Foundation
import Logging
import ModelClient
import PBTestSupport
@testable import PlatformIRC
import Storage
import Testing

/// A model that always answers with the same text.
struct FixedReplyModel: ChatModel {
    let reply: String

    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ModelEvent, Error> {
        AsyncThrowingStream { continuation in
            continuation.yield(.delta(reply))
            continuation.yield(.finish(.stop))
            continuation.finish()
        }
    }
}

func botConfiguration(port: Int, channels: [String], adminNicks: [String] = []) -> IRCPlatformConfiguration {
    IRCPlatformConfiguration(host: "127.0.0.1", port: port, useTLS: false, nick: "aria", realname: "Aria bot",
                             channels: channels.map { IRCChannelJoin(name: $0) }, floodBurst: 100,
                             floodInterval: .milliseconds(10), queueCapacity: 256, adminNicks: adminNicks,
                             reconnectInitialDelay: .milliseconds(200), reconnectMaxDelay: .seconds(2),
                             rejoinAfterKick: .milliseconds(200))
}

/// Runs the platform until the returned task is cancelled.
func runPlatform(_ platform: IRCPlatform) -> Task<Void, Never> {
    Task { try? await platform.run() }
}

@Suite(.serialized) struct IRCPlatformIntegrationTests {
    @Test func basicReplyThroughRouter() async throws {
        let server = try await Ngircd.start()
        defer { server.stop() }
        let alice = try await IRCHuman.connect(port: server.port, nick: "alice")
        try await alice.join("#test")

        let platform = IRCPlatform(configuration: botConfiguration(port: server.port, channels: ["#test"]),
                                   logger: Logger(label: "test.irc"))
        let persona = Persona(name: "aria", displayName: "Aria", character: "You are Aria.")
        let store = try SQLiteStore.inMemory()
        let router = Router(
            configuration: RouterConfiguration(personas: [persona],
                                               bindings: [.init(platform: "irc", channelID: "#test", personas: ["aria"])]),
            model: FixedReplyModel(reply: "Hello there, traveller."), store: store,
            platforms: [platform], clock: ContinuousClock(), logger: Logger(label: "test.router"))
        let task = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await platform.run() }
                group.addTask { try? await router.run() }
            }
        }
        _ = try await alice.waitFor("aria joins #test") { $0.hasPrefix(":aria!") && $0.contains(" JOIN ") }
        try await alice.send("PRIVMSG #test :aria: hello")
        let reply = try await alice.waitFor("aria's reply") {
            $0.hasPrefix(":aria!") && $0.contains(" PRIVMSG #test :") && $0.contains("Hello there, traveller.")
        }
        #expect(reply.hasSuffix("PRIVMSG #test :Hello there, traveller."))
        let key = ChannelKey(platform: "irc", channelID: "#test")
        // The reply's row is stored when its first line is sent (marked interrupted) and completed when the reply job
        // ends, which may be just after the last line reaches the channel: wait for the completed row.
        try await eventually("history holds both lines, the reply completed") {
            let rows = (try? await store.recentMessages(in: key, limit: 10, after: nil)) ?? []
            return rows.count >= 2 && !rows[1].text.hasSuffix("(reply interrupted)")
        }
        let history = try await store.recentMessages(in: key, limit: 10, after: nil)
        #expect(history.map(\.text) == ["aria: hello", "Hello there, traveller."])
        #expect(history.first?.speakerName == "alice")
        #expect(history.first?.kind == .human)
        #expect(history.last?.personaName == "aria")
        task.cancel()
        await task.value
        await alice.close()
    }

    @Test(arguments: IRCServerKind.allCases) func modelOutputCannotInjectCommands(_ kind: IRCServerKind) async throws {
        let server = try await IRCTestServer.start(kind)
        defer { server.stop() }
        let alice = try await IRCHuman.connect(port: server.port, nick: "alice")
        try await alice.join("#test")
        let bob = try await IRCHuman.connect(port: server.port, nick: "bob")
        try await bob.join("#other")

        let platform = IRCPlatform(configuration: botConfiguration(port: server.port, channels: ["#test", "#other"]),
                                   logger: Logger(label: "test.irc"))
        let task = runPlatform(platform)
        _ = try await bob.waitFor("aria joins #other") { $0.hasPrefix(":aria!") && $0.contains(" JOIN ") }
        _ = try await platform.send("start\r\nQUIT :bye\r\nPRIVMSG #other :x\nNICK evil\rJOIN #evil\0 end",
                                    in: platform.channel("#test"), replyTo: nil, as: nil)
        await platform.typing(in: platform.channel("#test"))  // ngIRCd has no message-tags: nothing is sent
        _ = try await platform.send("still here", in: platform.channel("#test"), replyTo: nil, as: nil)
        _ = try await alice.waitFor("the marker after the injection") {
            $0.hasPrefix(":aria!") && $0.hasSuffix("PRIVMSG #test :still here")
        }
        let fromBot = alice.lines.filter { $0.hasPrefix(":aria!") }
        #expect(!fromBot.contains { $0.contains(" QUIT ") || $0.contains(" NICK ") || $0.contains("TAGMSG") })
        #expect(fromBot.filter { $0.contains(" PRIVMSG #test :") }.count >= 3)
        #expect(!bob.lines.contains { $0.hasPrefix(":aria!") && $0.contains("PRIVMSG") })
        #expect(platform.joinedChannels.sorted() == ["#other", "#test"])
        #expect(platform.isRegistered)
        task.cancel()
        await task.value
        await alice.close()
        await bob.close()
    }

    @Test(arguments: IRCServerKind.allCases) func longReplyArrivesInLinesOfAtMost512Bytes(_ kind: IRCServerKind) async throws {
        let server = try await IRCTestServer.start(kind)
        defer { server.stop() }
        let alice = try await IRCHuman.connect(port: server.port, nick: "alice")
        try await alice.join("#test")
        let platform = IRCPlatform(configuration: botConfiguration(port: server.port, channels: ["#test"]),
                                   logger: Logger(label: "test.irc"))
        let task = runPlatform(platform)
        _ = try await alice.waitFor("aria joins #test") { $0.hasPrefix(":aria!") && $0.contains(" JOIN ") }

        let words = ["tea", "café", "naïve", "日本語", "🦊fox", "supercalifragilistic", "a", "ünïcødé", "end."]
        var text = ""
        var i = 0
        while text.utf8.count < 3_000 {
            text += (text.isEmpty ? "" : " ") + words[i % words.count] + String(i)
            i += 1
        }
        #expect(text.utf8.count >= 3_000)
        _ = try await platform.send(text, in: platform.channel("#test"), replyTo: nil, as: nil)
        let squeezed = text.filter { !$0.isWhitespace }
        let prefix = " PRIVMSG #test :"
        try await eventually("all of the long reply") {
            let got = alice.lines.filter { $0.hasPrefix(":aria!") && $0.contains(prefix) }
                .map { String($0[$0.range(of: prefix)!.upperBound...]) }.joined()
            return got.filter { !$0.isWhitespace }.utf8.count >= squeezed.utf8.count
        }
        let lines = alice.lines.filter { $0.hasPrefix(":aria!") && $0.contains(prefix) }
        #expect(lines.count >= 6)
        for line in lines { #expect(line.utf8.count + 2 <= 512, "line of \(line.utf8.count + 2) bytes") }
        let joined = lines.map { String($0[$0.range(of: prefix)!.upperBound...]) }.joined()
        #expect(joined.filter { !$0.isWhitespace } == squeezed)
        task.cancel()
        await task.value
        await alice.close()
    }

    @Test(arguments: IRCServerKind.allCases) func channelOperatorIsModeratorPlainUserIsNot(_ kind: IRCServerKind) async throws {
        let server = try await IRCTestServer.start(kind)
        defer { server.stop() }
        let alice = try await IRCHuman.connect(port: server.port, nick: "alice")
        try await alice.join("#test")  // first joiner: +o
        let bob = try await IRCHuman.connect(port: server.port, nick: "bob")
        try await bob.join("#test")
        let platform = IRCPlatform(configuration: botConfiguration(port: server.port, channels: ["#test"], adminNicks: ["Carol"]),
                                   logger: Logger(label: "test.irc"))
        let task = runPlatform(platform)
        let channel = platform.channel("#test")
        try await eventually("aria sees alice as operator") {
            await platform.isModerator(ChatUser(id: "alice", displayName: "alice"), in: channel)
        }
        #expect(await platform.isModerator(ChatUser(id: "bob", displayName: "bob"), in: channel) == false)
        #expect(await platform.isModerator(ChatUser(id: "carol", displayName: "carol"), in: channel))
        // Op granted later is tracked from MODE.
        try await alice.send("MODE #test +o bob")
        try await eventually("aria sees bob as operator") {
            await platform.isModerator(ChatUser(id: "bob", displayName: "bob"), in: channel)
        }
        try await alice.send("MODE #test -o alice")
        try await eventually("aria sees alice deopped") {
            await !platform.isModerator(ChatUser(id: "alice", displayName: "alice"), in: channel)
        }
        task.cancel()
        await task.value
        await alice.close()
        await bob.close()
    }

    @Test(arguments: IRCServerKind.allCases) func joinsKeyedChannelWithItsKey(_ kind: IRCServerKind) async throws {
        let server = try await IRCTestServer.start(kind)
        defer { server.stop() }
        let alice = try await IRCHuman.connect(port: server.port, nick: "alice")
        try await alice.join("#secret")
        try await alice.send("MODE #secret +k sesame")
        _ = try await alice.waitFor("key set") { $0.contains(" MODE #secret +k") }
        var configuration = botConfiguration(port: server.port, channels: ["#open"])
        configuration.channels.append(IRCChannelJoin(name: "#secret", key: "sesame"))
        let platform = IRCPlatform(configuration: configuration, logger: Logger(label: "test.irc"))
        let task = runPlatform(platform)
        _ = try await alice.waitFor("aria joins #secret with the key") { $0.hasPrefix(":aria!") && $0.contains(" JOIN ") && $0.contains("#secret") }
        try await eventually("both channels joined") { platform.joinedChannels == ["#open", "#secret"] }
        task.cancel()
        await task.value
        await alice.close()
    }
}
