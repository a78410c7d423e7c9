import BridgeCore
import Foundation
import Logging
import Testing

@testable import PlatformConsole

/// Collects everything the console prints.
final class Transcript: @unchecked Sendable {
    // Safe: `text` is only touched under `lock`.
    private let lock = NSLock()
    private var text = ""
    func append(_ s: String) { lock.lock(); text += s; lock.unlock() }
    var value: String { lock.lock(); defer { lock.unlock() }; return text }
}

@Suite struct ConsolePlatformTests {
    @Test func typedLinesBecomeMessagesFromTheCurrentSpeaker() async throws {
        let transcript = Transcript()
        let console = ConsolePlatform(
            channelName: "demo", speaker: "Ana",
            input: .script(["hello mira", "/as Ben", "  ", "hi all", "/quit", "never read"]),
            output: ConsoleOutput { transcript.append($0) }, logger: Logger(label: "test"))
        try await console.run()
        var received: [IncomingMessage] = []
        for await event in console.events {
            if case .messageCreated(let message) = event { received.append(message) }
        }
        #expect(received.map(\.author.displayName) == ["Ana", "Ben"])
        #expect(received.map(\.text) == ["hello mira", "hi all"])
        #expect(Set(received.map(\.messageID)).count == 2)
        #expect(received.allSatisfy { $0.channel.channelName == "demo" && !$0.author.isBot })
        #expect(transcript.value.contains("Now speaking as Ben."))
    }

    @Test func repliesStreamInPlaceAndRewriteWhenTextChanges() async throws {
        let transcript = Transcript()
        let console = ConsolePlatform(
            input: .script([]), output: ConsoleOutput { transcript.append($0) }, logger: Logger(label: "test"))
        let identity = PersonaIdentity(name: "mira", displayName: "Mira")
        let sent = try await console.send("Hel", in: console.channel, replyTo: nil, as: identity)
        try await console.edit(sent, text: "Hello")
        try await console.edit(sent, text: "Hello there.")
        #expect(transcript.value == "Mira: Hello there.")
        try await console.edit(sent, text: "Goodbye.")
        #expect(transcript.value == "Mira: Hello there.\nMira: (edited) Goodbye.")
    }

    @Test func everyConsoleSpeakerIsAModerator() async {
        let console = ConsolePlatform(input: .script([]), output: ConsoleOutput { _ in }, logger: Logger(label: "test"))
        #expect(await console.isModerator(ChatUser(id: "x", displayName: "x"), in: console.channel))
    }
}
