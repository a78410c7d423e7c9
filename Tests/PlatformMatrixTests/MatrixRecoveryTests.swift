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
        let starter = MatrixPlatform(
            configuration: MatrixPlatformConfiguration(homeserverURL: synapse.url, userID: late.userID, password: late.password,
                                                       retryInitialDelay: .milliseconds(200), retryMaxDelay: .seconds(1)),
            http: scene.http, store: try SQLiteStore.inMemory(), logger: Logger(label: "test.late"))
        let starting = Task { try await starter.run() }
        try await Task.sleep(for: .seconds(2))
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
}
