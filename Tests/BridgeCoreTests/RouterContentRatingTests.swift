import BridgeConfig
@testable import BridgeCore
import Foundation
import Logging
import PBTestSupport
import Storage
import Testing

/// Mature personas on platforms without age-restricted channels of their own: only in `mature_channels`.
@Suite struct RouterContentRatingTests {
    static let vesper: Persona = {
        var persona = Persona(name: "vesper", displayName: "Vesper", character: "Vesper is a noir femme fatale.")
        persona.contentRating = .mature
        return persona
    }()

    func router(_ platform: InMemoryPlatform, store: any Store, model: FakeModel) -> Router {
        var configuration = RouterConfiguration(personas: [Harness.aria, Self.vesper], defaultPersonas: ["aria"])
        configuration.matureChannels = ["irc": ["#After-Dark"]]
        return Router(configuration: configuration, model: model, store: store, platforms: [platform], logger: Logger(label: "test"))
    }

    @Test func boundOnlyInListedChannelsAndSilentElsewhere() async throws {
        let platform = InMemoryPlatform(name: "irc", capabilities: PlatformCapabilities(canEdit: false, maxLength: 400))
        let moderator = ChatUser(id: "u-mod", displayName: "Mod")
        platform.setModerators([moderator.id])
        let lobby = platform.channel("#lobby", server: "net")
        let adults = platform.channel("#after-dark", server: "net")
        let store = try SQLiteStore.inMemory()
        let model = FakeModel.echo()
        let router = router(platform, store: store, model: model)

        await router.handle(.messageCreated(IncomingMessage(channel: lobby, author: moderator, messageID: "c1",
                                                            text: "!pb persona add vesper")), from: platform)
        #expect(platform.sentMessages.last?.text.contains("Vesper is a mature persona and answers only in age-restricted channels") == true)
        #expect(platform.sentMessages.last?.text.contains("[platforms.irc] mature_channels") == true)
        #expect(try await store.channelSettings(for: Router.key(lobby)) == nil, "nothing was changed")

        await router.handle(.messageCreated(IncomingMessage(channel: adults, author: moderator, messageID: "c2",
                                                            text: "!pb persona set vesper")), from: platform)
        #expect(platform.sentMessages.last?.text.contains("Vesper now answers here") == true)
        await router.handle(.messageCreated(IncomingMessage(channel: adults, author: alice, messageID: "m1",
                                                            text: "Vesper, a drink?")), from: platform)
        #expect(model.requests.count == 1)
        #expect(model.requests.last?.messages.first?.name == "Vesper")

        // A mature persona left bound (stored earlier, or by another process) in an unlisted channel stays quiet,
        // while the general persona beside it still answers.
        try await store.updateChannelSettings(for: Router.key(lobby)) { $0.personas = ["vesper", "aria"] }
        router.invalidateSettings(Router.key(lobby))
        await router.handle(.messageCreated(IncomingMessage(channel: lobby, author: alice, messageID: "m2",
                                                            text: "Vesper, Aria, anyone?")), from: platform)
        #expect(model.requests.count == 2)
        #expect(model.requests.last?.messages.first?.name == "Aria")
        let sent = platform.sentMessages.count
        // Players get no notice; a moderator does, once.
        await router.handle(.messageCreated(IncomingMessage(channel: lobby, author: moderator, messageID: "m3",
                                                            text: "!pb persona remove aria")), from: platform)
        await router.handle(.messageCreated(IncomingMessage(channel: lobby, author: alice, messageID: "m4",
                                                            text: "Vesper?")), from: platform)
        #expect(platform.sentMessages.count == sent + 1, "only the command's answer")
        await router.handle(.messageCreated(IncomingMessage(channel: lobby, author: moderator, messageID: "m5",
                                                            text: "Vesper?")), from: platform)
        await router.handle(.messageCreated(IncomingMessage(channel: lobby, author: moderator, messageID: "m6",
                                                            text: "Vesper??")), from: platform)
        let notices = platform.sentMessages.filter { $0.text.contains("stays quiet here") }
        #expect(notices.count == 1)
        #expect(model.requests.count == 2)
    }
}
