import BridgeConfig
import Foundation
import Logging
import ModelClient
import PBTestSupport
import Storage
import Testing
@testable import BridgeCore

/// Relay bots (`[platforms.*] relays`): their messages are credited to the real speakers, who may trigger replies
/// but never run commands, and the bridge's own replies carried back are ignored.
@Suite struct RouterRelayTests {
    static let relay = ChatUser(id: "matterbridge", displayName: "matterbridge", isBot: true)

    struct Fixture {
        let router: Router
        let platform: InMemoryPlatform
        let channel: ChannelRef
        let model: FakeModel
        let store: SQLiteStore
        var next = 0

        init(trigger: TriggerOverrides = .init(), budgets: BudgetSettings = .init()) throws {
            platform = InMemoryPlatform(name: "memory", capabilities: .init(canEdit: true, maxLength: 2000))
            var configuration = RouterConfiguration(
                personas: [Harness.aria, Harness.bolt],
                bindings: [.init(platform: "memory", channelID: "general", personas: ["aria"], trigger: trigger)])
            configuration.relays = ["memory": [RelaySettings(user: "matterbridge", format: .matterbridge)]]
            configuration.budgets = budgets
            model = FakeModel.echo()
            store = try SQLiteStore.inMemory()
            router = Router(configuration: configuration, model: model, store: store, platforms: [platform],
                            clock: ContinuousClock(), logger: Logger(label: "test"))
            channel = platform.channel("general", server: "s1")
        }

        /// Handles a message completely (history committed, reply streamed) and returns its id.
        @discardableResult
        mutating func say(_ text: String, by author: ChatUser = RouterRelayTests.relay) async -> String {
            next += 1
            let id = "m\(next)"
            await router.handle(.messageCreated(IncomingMessage(channel: channel, author: author, messageID: id, text: text)),
                                from: platform)
            return id
        }

        func history() async throws -> [StoredMessage] {
            try await store.recentMessages(in: Router.key(channel), limit: 50)
        }
    }

    @Test("a relayed speaker is credited by name in history and the prompt, and addressing the persona is answered")
    func credited() async throws {
        var f = try Fixture()
        let chatter = await f.say("[discord] <carol> lovely evening")
        let trigger = await f.say("[discord] <alice> hey Aria, how are you?")
        #expect(f.platform.sentMessages.map(\.text) == ["Re alice: hey Aria, how are you?"])
        let request = try #require(f.model.requests.last)
        #expect(request.messages.contains(ChatMessage(role: .user, content: "lovely evening", name: "carol")))
        #expect(request.messages.last == ChatMessage(role: .user, content: "hey Aria, how are you?", name: "alice"))
        let people = try #require(request.messages.first { $0.content.contains("People present") }?.content)
        #expect(people.contains("- alice: a person in the chat") && people.contains("- carol: a person in the chat"), "\(people)")
        #expect(!people.contains("matterbridge"), "\(people)")
        let rows = try await f.history()
        let alice = try #require(rows.first { $0.messageID == trigger })
        #expect(alice.speakerID == "relay:matterbridge:alice" && alice.speakerName == "alice" && alice.kind == .human)
        #expect(rows.first { $0.messageID == chatter }?.speakerName == "carol")
    }

    @Test("a relay line that names nobody is recorded under the relay's name and triggers nothing, even naming the persona")
    func statusLine() async throws {
        var f = try Fixture(trigger: TriggerOverrides(respondToBots: true))
        let id = await f.say("*** Aria joined the bridge")
        #expect(f.platform.sentMessages.isEmpty && f.model.requests.isEmpty)
        let row = try #require(try await f.history().first { $0.messageID == id })
        #expect(row.speakerName == "matterbridge" && row.kind == .bot && row.text == "*** Aria joined the bridge")
    }

    @Test("relayed commands run nothing: neither as the speaker's nor as the relay's")
    func noCommands() async throws {
        var f = try Fixture()
        f.platform.setModerators([Self.relay.id, "relay:matterbridge:mod"])
        await f.say("[irc] <mod> !pb persona set bolt")
        await f.say("!pb persona set bolt")
        await f.say("[irc] <alice> Aria, who is here?")
        #expect(f.platform.sentMessages.map(\.text) == ["Re alice: Aria, who is here?"], "Aria still answers, no command output")
        #expect(f.model.requests.count == 1)
        let speakers = f.platform.operations.compactMap { operation -> String? in
            if case .send(_, _, _, _, let identity) = operation { return identity?.name }
            return nil
        }
        #expect(speakers == ["aria"], "the persona was not changed")
        // The same command from a person (a moderator) does run.
        let person = ChatUser(id: "u-mod", displayName: "Mo")
        f.platform.setModerators([person.id])
        await f.say("!pb persona set bolt", by: person)
        #expect(f.platform.sentMessages.count == 2, "the moderator's command is answered")
    }

    @Test("relayed people are not bot turns: the relay bot's turn cap never silences them")
    func noBotTurnCap() async throws {
        var f = try Fixture(trigger: TriggerOverrides(cooldownSeconds: 0, maxBotTurns: 0, respondToBots: true))
        for index in 1...3 {
            await f.say("[discord] <alice> Aria, question \(index)?")
        }
        #expect(f.platform.sentMessages.count == 3)
        // The same bot speaking for itself is capped (no bot turns allowed here).
        let otherBot = ChatUser(id: "helperbot", displayName: "helperbot", isBot: true)
        await f.say("Aria, status?", by: otherBot)
        #expect(f.platform.sentMessages.count == 3)
    }

    @Test("budgets count each relayed speaker on their own: relay + nick")
    func budgets() async throws {
        var f = try Fixture(budgets: BudgetSettings(perUserMessagesPerMinute: 1))
        await f.say("[discord] <alice> Aria, one?")
        await f.say("[discord] <alice> Aria, two?")
        await f.say("[discord] <bob> Aria, three?")
        let prompts = f.model.requests.compactMap { $0.messages.last?.content }
        #expect(prompts == ["Aria, one?", "Aria, three?"], "alice's second message is over her rate; bob has his own")
        let since = Date().addingTimeInterval(-600)
        let alice = try await f.store.usageTotals(.user(platform: "memory", userID: "relay:matterbridge:alice"), since: since)
        let bob = try await f.store.usageTotals(.user(platform: "memory", userID: "relay:matterbridge:bob"), since: since)
        let relay = try await f.store.usageTotals(.user(platform: "memory", userID: "matterbridge"), since: since)
        #expect(alice.requests == 1 && bob.requests == 1 && relay.requests == 0)
    }

    @Test("the bridge's own reply carried back by the relay is ignored: not recorded, not answered")
    func echo() async throws {
        var f = try Fixture(trigger: TriggerOverrides(cooldownSeconds: 0))
        await f.say("[discord] <alice> hey Aria, how are you?")
        let reply = try #require(f.platform.sentMessages.first?.text)
        #expect(reply == "Re alice: hey Aria, how are you?")
        // The relay carries the reply into another network and back, under the persona's name (it names Aria).
        let echo = await f.say("[irc] <Aria> \(reply)")
        // A line of it under the bridge's nick, as IRC would send it with the persona's name before it.
        let line = await f.say("[irc] <pbbot> Aria: \(reply)")
        await f.say("[discord] <bob> Aria, still there?")
        #expect(f.platform.sentMessages.map(\.text) == [reply, "Re bob: Aria, still there?"])
        #expect(f.model.requests.count == 2)
        let rows = try await f.history()
        #expect(!rows.contains { $0.messageID == echo || $0.messageID == line })
        let last = try #require(f.model.requests.last)
        #expect(!last.messages.contains { $0.role == .user && $0.name == "Aria" })
        // Someone else quoting a few words of it is still heard.
        let quote = await f.say("[discord] <carol> how are you")
        #expect(try await f.history().contains { $0.messageID == quote && $0.speakerName == "carol" })
    }
}
