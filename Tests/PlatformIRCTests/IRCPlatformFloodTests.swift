import BridgeCore
import Foundation
import Logging
import PBTestSupport
@testable import PlatformIRC
import Testing

@Suite struct IRCPlatformFloodTests {
    /// ngIRCd with its default penalties, InspIRCd with fake lag: 40 lines unpaced would trip them; the bucket keeps us connected.
    @Test(arguments: IRCServerKind.allCases) func fortyLineReplyArrivesWithPenaltiesOn(_ kind: IRCServerKind) async throws {
        let server = try await IRCTestServer.start(kind, maxPenaltyTime: nil)
        defer { server.stop() }
        let alice = try await IRCHuman.connect(port: server.port, nick: "alice")
        try await alice.join("#test")
        var configuration = botConfiguration(port: server.port, channels: ["#test"])
        configuration.floodBurst = 4
        configuration.floodInterval = .milliseconds(500)
        let platform = IRCPlatform(configuration: configuration, logger: Logger(label: "test.irc"))
        let task = runPlatform(platform)
        try await eventually("joined") { platform.joinedChannels == ["#test"] }
        let text = (1...40).map { "flood line \($0) with a little padding to look like a real reply" }.joined(separator: "\n")
        _ = try await platform.send(text, in: platform.channel("#test"), replyTo: nil, as: nil)
        try await eventually("all 40 lines", timeout: .seconds(90)) {
            alice.lines.contains { $0.hasSuffix("PRIVMSG #test :flood line 40 with a little padding to look like a real reply") }
        }
        let got = alice.lines.filter { $0.hasPrefix(":aria!") && $0.contains(" PRIVMSG #test :flood line ") }
        #expect(got.count == 40)
        #expect(!alice.lines.contains { $0.hasPrefix(":aria!") && $0.contains(" QUIT ") })
        #expect(platform.isRegistered)
        task.cancel()
        await task.value
        await alice.close()
    }
}
