import BridgeCore
import Foundation
import HTTPTransport
import Logging
import PBTestSupport
@testable import PlatformMatrix
import Storage
import Testing

/// The homeserver goes away and comes back: the sync loop backs off and carries on, nothing is lost.
@Suite(.serialized) struct MatrixRecoveryTests {
    @Test func syncSurvivesAHomeserverOutage() async throws {
        var synapse = try await Synapse.start()
        let directory = synapse.directory
        let port = synapse.port
        defer {
            synapse.stop()
            try? FileManager.default.removeItem(at: directory)
        }
        let scene = try await Scenario.start(synapse: synapse, fixedReply: "Still here.")
        let bot = scene.bot
        let late = try await synapse.register(["late"])["late"]!

        synapse.crash()
        // A second adapter that starts while the homeserver is down waits for it instead of giving up.
        let starterLogs = LogCapture()
        let starter = MatrixPlatform(
            configuration: MatrixPlatformConfiguration(homeserverURL: synapse.url, userID: late.userID, password: late.password,
                                                       retryInitialDelay: .milliseconds(200), retryMaxDelay: .seconds(1)),
            http: scene.http, store: try SQLiteStore.inMemory(), logger: starterLogs.logger(label: "test.late", level: .info))
        let starting = Task { try await starter.run() }
        // The recorded event: the late adapter has failed to log in and retried three times (it did not give up).
        try await eventually("three login retries") {
            starterLogs.lines.filter { $0.contains("login failed; retrying") }.count >= 3
        }
        #expect(bot.failure.get() == nil)
        #expect(!starter.isReady)
        synapse = try await Synapse.start(port: port, directory: directory)
        try await eventually("the late adapter logs in and syncs once the server is back") { starter.isReady }
        starting.cancel()
        _ = await starting.result

        let question = try await scene.alice.say("Aria, are you back?", in: scene.room)
        try await eventually("the reply after the outage", timeout: .seconds(90)) {
            try await scene.botMessages().contains { $0.inReplyTo == question }
        }
        #expect(bot.failure.get() == nil)
        await scene.finish()
    }

    /// More messages arrive while the bot is away than one sync returns (its filter's timeline limit is 50), so the
    /// next sync's timeline is `limited`; the gap is back-filled through `/messages`, and a question inside it is
    /// recorded and answered once.
    @Test func aLimitedSyncTimelineIsBackFilled() async throws {
        let scene = try await Scenario.start(fixedReply: "Noted.")
        let first = try await scene.alice.say("Aria, hello", in: scene.room)
        try await eventually("the first reply") { try await scene.botMessages().contains { $0.inReplyTo == first } }
        try await eventually("the first batch handled and its token stored") {
            try await scene.store.state(for: "matrix:\(scene.botID):next_batch") != nil && scene.bot.platform.isReady
        }
        await scene.bot.stop()

        var filler: [String] = []
        for index in 0..<20 { filler.append(try await scene.alice.say("filler line \(index)", in: scene.room)) }
        let question = try await scene.alice.say("Aria, did you see this while you were away?", in: scene.room)
        for index in 20..<80 { filler.append(try await scene.alice.say("filler line \(index)", in: scene.room)) }

        let bot = try await Bot.start(synapse: scene.synapse, account: scene.users["bot"]!, store: scene.store,
                                      model: FixedModel(text: "Noted."), http: scene.http, allow: [scene.alice.id])
        defer { Task { await bot.stop() } }
        try await eventually("the reply to the question inside the gap", timeout: .seconds(60)) {
            try await scene.botMessages().contains { $0.inReplyTo == question }
        }
        let key = ChannelKey(platform: "matrix", channelID: scene.room)
        #expect(try await scene.store.message(in: key, messageID: filler[0]) != nil, "a message inside the gap is recorded")
        #expect(try await scene.store.message(in: key, messageID: question) != nil)
        // A later question is answered too: by then the gap's batch is long handled, and nothing answered twice.
        let later = try await scene.alice.say("Aria, and now?", in: scene.room)
        try await eventually("the reply after the gap") { try await scene.botMessages().contains { $0.inReplyTo == later } }
        #expect(try await scene.botMessages().filter { $0.inReplyTo == question }.count == 1)
        await bot.stop()
        scene.model?.stop()
        scene.http.shutdown()
    }
}
