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

        synapse.crash()
        try await Task.sleep(for: .seconds(2))
        #expect(bot.failure.get() == nil)
        synapse = try await Synapse.start(port: port, directory: directory)

        let question = try await scene.alice.say("Aria, are you back?", in: scene.room)
        try await eventually("the reply after the outage", timeout: .seconds(90)) {
            try await scene.botMessages().contains { $0.inReplyTo == question }
        }
        #expect(bot.failure.get() == nil)
        await scene.finish()
    }
}
