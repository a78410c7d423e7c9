import BridgeCore
import Foundation
import HTTPTransport
import Logging
import PBTestSupport
import PlatformMatrix
import Storage
import Testing

/// `!pb persona import mxc://…` on a real Synapse: the card is fetched through the authenticated media endpoint.
@Suite(.serialized) struct MatrixCardImportTests {
    /// Uploads a file as `human`; returns its `mxc://` URI.
    static func upload(_ data: Data, name: String, as human: Human, synapse: Synapse, http: HTTPClient) async throws -> String {
        let response = try await http.execute(HTTPRequest(
            method: .post, url: synapse.url + "/_matrix/media/v3/upload?filename=" + name,
            headers: ["Authorization": "Bearer \(human.account.accessToken)", "Content-Type": "application/json"],
            body: [UInt8](data)))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == 200, let uri = try MatrixJSON.parse(body)["content_uri"]?.string else {
            throw TestServerError("upload answered \(response.status): \(String(decoding: body, as: UTF8.self))")
        }
        return uri
    }

    @Test func moderatorImportsACardFromMatrixMedia() async throws {
        let synapse = try await SharedSynapse.shared.get()
        let http = HTTPClient()
        defer { http.shutdown() }
        let users = try await synapse.register(["cardbot", "cardowner", "cardlow"])
        let owner = Human(users["cardowner"]!, synapse: synapse, http: http)
        let low = Human(users["cardlow"]!, synapse: synapse, http: http)
        let botID = users["cardbot"]!.userID
        let store = try SQLiteStore.inMemory()
        let bot = try await Bot.start(synapse: synapse, account: users["cardbot"]!, store: store, model: FixedModel(text: "hi"),
                                      http: http, allow: [owner.id])
        let room = try await owner.createRoom(name: "Cards", invite: [botID, low.id])
        try await low.join(room)
        try await eventually("bot joined") { try await owner.joinedMembers(room).contains(botID) }
        let card = try Data(contentsOf: RepoPaths.root.appendingPathComponent("Tests/Corpus/cards/v1.json"))
        let uri = try await Self.upload(card, name: "v1.json", as: owner, synapse: synapse, http: http)
        func botSaid(_ text: String) async throws -> Bool {
            try await owner.messages(in: room).contains { $0.sender == botID && ($0.content["body"]?.string ?? "").contains(text) }
        }

        try await low.say("!pb persona import \(uri)", in: room)
        try await eventually("the refusal") { try await botSaid("only moderators") }
        #expect(try await store.importedPersonas().isEmpty)

        try await owner.say("!pb persona import mxc://nowhere", in: room)
        try await eventually("the bad URL answer") { try await botSaid("Matrix media is named mxc://server/media-id") }

        try await owner.say("!pb persona import \(uri)", in: room)
        try await eventually("the import") { try await botSaid("Imported Old Tom") }
        #expect(try await store.importedPersonas().map(\.name) == ["old-tom"])
        try await eventually("the greeting") { try await botSaid("Who goes there?") }
        await bot.stop()
    }
}
