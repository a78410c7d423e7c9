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
        let http = HTTPClient()
        defer { http.shutdown() }
        let users = try await synapse.register(["bot", "alice"])
        let alice = Human(users["alice"]!, synapse: synapse, http: http)
        let botID = users["bot"]!.userID
        let bot = try await Bot.start(synapse: synapse, account: users["bot"]!, store: try SQLiteStore.inMemory(),
                                      model: FixedModel(text: "Still here."), http: http, allow: [alice.id])
        let room = try await alice.createRoom(name: "Outage", invite: [botID])
        try await eventually("bot joined") { try await alice.joinedMembers(room).contains(botID) }

        synapse.crash()
        try await Task.sleep(for: .seconds(2))
        #expect(bot.failure.get() == nil)
        synapse = try await Synapse.start(port: port, directory: directory)

        let question = try await alice.say("Aria, are you back?", in: room)
        try await eventually("the reply after the outage", timeout: .seconds(90)) {
            try await alice.messages(in: room).contains { $0.sender == botID && $0.inReplyTo == question }
        }
        #expect(bot.failure.get() == nil)
        await bot.stop()
    }
}
