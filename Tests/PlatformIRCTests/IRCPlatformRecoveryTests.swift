import BridgeCore
import Foundation
import Logging
import PBTestSupport
@testable import PlatformIRC
import Testing

@Suite(.serialized) struct IRCPlatformRecoveryTests {
    @Test(arguments: IRCServerKind.allCases) func kickLeadsToRejoin(_ kind: IRCServerKind) async throws {
        let server = try await IRCTestServer.start(kind)
        defer { server.stop() }
        let alice = try await IRCHuman.connect(port: server.port, nick: "alice")
        try await alice.join("#test")  // operator
        let platform = IRCPlatform(configuration: botConfiguration(port: server.port, channels: ["#test"]),
                                   logger: Logger(label: "test.irc"))
        let task = runPlatform(platform)
        _ = try await alice.waitFor("aria joins") { $0.hasPrefix(":aria!") && $0.contains(" JOIN ") }
        try await alice.send("KICK #test aria :out")
        _ = try await alice.waitFor("the kick") { $0.contains(" KICK #test aria ") }
        try await eventually("aria rejoined") {
            alice.lines.filter { $0.hasPrefix(":aria!") && $0.contains(" JOIN ") }.count >= 2
        }
        try await eventually("state shows #test again") { platform.joinedChannels == ["#test"] }
        task.cancel()
        await task.value
        await alice.close()
    }

    @Test(arguments: IRCServerKind.allCases) func twoChannelsInterleaveAndShutdownSendsQuit(_ kind: IRCServerKind) async throws {
        let server = try await IRCTestServer.start(kind)
        defer { server.stop() }
        let alice = try await IRCHuman.connect(port: server.port, nick: "alice")
        try await alice.join("#one")
        try await alice.join("#two")
        var configuration = botConfiguration(port: server.port, channels: ["#one", "#two"])
        configuration.rejoinAfterKick = nil
        configuration.floodBurst = 2
        configuration.floodInterval = .milliseconds(150)
        let platform = IRCPlatform(configuration: configuration, logger: Logger(label: "test.irc"))
        let task = runPlatform(platform)
        try await eventually("joined both") { platform.joinedChannels == ["#one", "#two"] }
        let one = (1...10).map { "one line \($0)" }.joined(separator: "\n")
        let two = (1...10).map { "two line \($0)" }.joined(separator: "\n")
        _ = try await platform.send(one, in: platform.channel("#one"), replyTo: nil, as: nil)
        _ = try await platform.send(two, in: platform.channel("#two"), as: PersonaIdentity(name: "bolt", displayName: "Bolt"))
        try await eventually("all 20 lines") {
            alice.lines.filter { $0.hasPrefix(":aria!") && $0.contains(" PRIVMSG #") }.count >= 20
        }
        let order = alice.lines.filter { $0.hasPrefix(":aria!") && $0.contains(" PRIVMSG #") }
            .map { $0.contains("PRIVMSG #one ") ? "1" : "2" }.joined()
        // Round-robin: neither channel waits for the other to finish.
        #expect(!order.hasPrefix("1111111111"))
        #expect(order.prefix(8).contains("2") && order.prefix(8).contains("1"))
        #expect(alice.lines.contains { $0.hasSuffix("PRIVMSG #two :Bolt: two line 3") })
        #expect(alice.lines.contains { $0.hasSuffix("PRIVMSG #one :one line 3") })
        task.cancel()
        await task.value
        _ = try await alice.waitFor("aria's QUIT on shutdown") { $0.hasPrefix(":aria!") && $0.contains(" QUIT ") }
        await alice.close()
    }
}

extension IRCPlatform {
    /// Sends without a reply target.
    func send(_ text: String, in channel: ChannelRef, as identity: PersonaIdentity?) async throws -> SentMessageRef {
        try await send(text, in: channel, replyTo: nil, as: identity)
    }
}

@Suite struct IRCPlatformTLSTests {
    @Test func connectsOverVerifiedTLS() async throws {
        let server = try await Ngircd.start(tls: true)
        defer { server.stop() }
        let tlsPort = try #require(server.tlsPort)
        let alice = try await IRCHuman.connect(port: server.port, nick: "alice")
        try await alice.join("#test")
        var configuration = botConfiguration(port: tlsPort, channels: ["#test"])
        configuration.useTLS = true
        configuration.verifyTLS = true
        configuration.caFile = RepoPaths.servers.appendingPathComponent("certs/ca.pem").path
        let platform = IRCPlatform(configuration: configuration, logger: Logger(label: "test.irc"))
        let task = runPlatform(platform)
        _ = try await alice.waitFor("aria joins over TLS") { $0.hasPrefix(":aria!") && $0.contains(" JOIN ") }
        _ = try await platform.send("over tls", in: platform.channel("#test"), replyTo: nil, as: nil)
        _ = try await alice.waitFor("the TLS message") { $0.hasPrefix(":aria!") && $0.hasSuffix("PRIVMSG #test :over tls") }
        task.cancel()
        await task.value
        await alice.close()
    }

    @Test func refusesAnUnverifiedCertificate() async throws {
        let server = try await Ngircd.start(tls: true)
        defer { server.stop() }
        let tlsPort = try #require(server.tlsPort)
        var configuration = botConfiguration(port: tlsPort, channels: ["#test"])
        configuration.useTLS = true
        configuration.verifyTLS = true
        configuration.caFile = nil  // the test CA is not in the system store
        let platform = IRCPlatform(configuration: configuration, logger: Logger(label: "test.irc"))
        let task = runPlatform(platform)
        try await eventually("a TLS failure") { platform.lastConnectionProblem?.contains("tlsFailure") == true }
        #expect(!platform.isRegistered)
        task.cancel()
        await task.value
    }
}

@Suite struct IRCPlatformPasswordAndQueueTests {
    @Test func serverPasswordIsSentAndRequired() async throws {
        let server = try await Ngircd.start(password: "s3cret")
        defer { server.stop() }
        var wrong = botConfiguration(port: server.port, channels: ["#test"])
        wrong.serverPassword = "nope"
        let refused = IRCPlatform(configuration: wrong, logger: Logger(label: "test.irc"))
        let refusedTask = runPlatform(refused)
        try await eventually("the wrong password is refused") { refused.lastConnectionProblem != nil }
        #expect(!refused.isRegistered)
        refusedTask.cancel()
        await refusedTask.value

        var right = botConfiguration(port: server.port, channels: ["#test"])
        right.serverPassword = "s3cret"
        let platform = IRCPlatform(configuration: right, logger: Logger(label: "test.irc"))
        let task = runPlatform(platform)
        try await eventually("registered with the password") { platform.joinedChannels == ["#test"] }
        task.cancel()
        await task.value
    }

    @Test func fullQueueRefusesWholeMessageWithClearError() async throws {
        var configuration = botConfiguration(port: 1, channels: ["#test"])
        configuration.queueCapacity = 3
        let platform = IRCPlatform(configuration: configuration, logger: Logger(label: "test.irc"))
        let channel = platform.channel("#test")
        _ = try await platform.send("one\ntwo", in: channel, replyTo: nil, as: nil)
        await #expect(throws: IRCPlatformError(code: .queueFull, message: "OutgoingQueueError(queueFull): #test holds 2/3 lines", target: "#test")) {
            _ = try await platform.send("three\nfour", in: channel, replyTo: nil, as: nil)
        }
        _ = try await platform.send("three", in: channel, replyTo: nil, as: nil)
    }
}
