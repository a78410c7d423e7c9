import BridgeCore
import Foundation
import ModelClient
import PBTestSupport
import Testing
@testable import PlatformDiscord

/// End-to-end against the fake Discord: gateway, REST, Router and a timed model.
@Suite(.serialized) struct DiscordAdapterTests {
    static let longReply = "Well met, traveller! The tavern is warm tonight and the stew is almost ready. Sit, rest your feet."

    @Test func happyPathRepliesOnceAndEditsToTheFullText() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let bridge = try await DiscordBridge(fake: fake, model: TimedModel(pieces: 10, interval: .milliseconds(300)) { _ in Self.longReply })
        try await bridge.waitReady()
        let trigger = try await fake.inject("hello there, bard")
        try await waitUntil("final reply") {
            try await fake.botMessages(in: World.general).first?["content"].string == Self.longReply
        }
        try await Task.sleep(for: .milliseconds(500))
        let replies = try await fake.botMessages(in: World.general)
        #expect(replies.count == 1)
        let reply = replies[0]
        #expect(reply["message_reference"]["message_id"].string == trigger)
        let detail = try await fake.get("messages/\(reply["id"].string ?? "")")
        let history = detail["_history"].array.compactMap(\.string)
        #expect(history.count >= 2, "created, then edited while streaming")
        #expect(history.last == Self.longReply)
        let requests = try await fake.get("requests").array
        let create = requests.first { $0["method"].string == "POST" && $0["route"].string?.hasSuffix("/messages") == true }
        #expect(create?["body"]["message_reference"]["fail_if_not_exists"].bool == false)
        #expect(create?["headers"]["user-agent"].string?.hasPrefix("DiscordBot (") == true)
        #expect(requests.contains { $0["route"].string?.hasSuffix("/typing") == true })
        #expect(try await fake.counter("rate_limited") == 0)
        // The token never reaches the logs.
        #expect(!bridge.logs.lines.contains { $0.contains("fake-bot-token") })
        await bridge.stop()
    }
}
