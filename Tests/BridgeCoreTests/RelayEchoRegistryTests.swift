@testable import BridgeCore
import Testing

@Suite("RelayEchoRegistry: the bridge's own texts coming back through a relay")
struct RelayEchoRegistryTests {
    static let reply = "Hello there, traveller.\nThe harbour is quiet tonight, and the lamps are lit."

    func registry() -> RelayEchoRegistry {
        var registry = RelayEchoRegistry()
        registry.recordSent(key: "discord::c1|r1", channel: "discord::c1", text: Self.reply, speaker: "Aria", now: .seconds(10))
        return registry
    }

    @Test("the whole text, a line, a part, or a cut text from the persona's name is an echo")
    func echoes() {
        let registry = registry()
        #expect(registry.isEcho(nick: "Aria", text: Self.reply, now: .seconds(11)))
        #expect(registry.isEcho(nick: "aria", text: "Hello there,   traveller. The harbour is quiet tonight, and the lamps are lit.", now: .seconds(11)))
        #expect(registry.isEcho(nick: "Aria", text: "The harbour is quiet tonight, and the lamps are lit.", now: .seconds(11)))
        #expect(registry.isEcho(nick: "Aria", text: "Hello there, traveller. The harb...", now: .seconds(11)))
        #expect(registry.isEcho(nick: "Aria", text: "Hello", now: .seconds(11)), "named by the relay: any part is ours")
    }

    @Test("a line IRC prefixed with the persona's name, relayed under the bridge's nick, is an echo")
    func ircPrefix() {
        let registry = registry()
        #expect(registry.isEcho(nick: "pbbot", text: "Aria: Hello there, traveller.", now: .seconds(11)))
    }

    @Test("lines sent as messages of their own (IRC) and carried back as one are an echo; other channels' are not joined")
    func joinedLines() {
        var registry = RelayEchoRegistry()
        registry.recordSent(key: "irc::#a|1", channel: "irc::#a", text: "Glad you asked, alice!", speaker: "Aria", now: .seconds(1))
        registry.recordSent(key: "irc::#b|2", channel: "irc::#b", text: "Unrelated words here.", speaker: "Bolt", now: .seconds(1))
        registry.recordSent(key: "irc::#a|3", channel: "irc::#a", text: "The harbour is calm tonight.", speaker: "Aria", now: .seconds(2))
        #expect(registry.isEcho(nick: "Aria", text: "Glad you asked, alice!\nThe harbour is calm tonight.", now: .seconds(3)))
        #expect(!registry.isEcho(nick: "Aria", text: "Glad you asked, alice! Unrelated words here.", now: .seconds(3)))
    }

    @Test("someone else's short line is not an echo; a long exact quote is")
    func anonymous() {
        let registry = registry()
        #expect(!registry.isEcho(nick: "bob", text: "Hello there", now: .seconds(11)))
        #expect(registry.isEcho(nick: "bob", text: "The harbour is quiet tonight", now: .seconds(11)))
        #expect(!registry.isEcho(nick: "Aria", text: "Something I never said", now: .seconds(11)))
    }

    @Test("texts are forgotten after the window; an edit replaces the text and renews it")
    func window() {
        var registry = registry()
        let later = Duration.seconds(10) + RelayEchoRegistry.window + .seconds(1)
        #expect(!registry.isEcho(nick: "Aria", text: Self.reply, now: later))
        registry.recordSent(key: "discord::c1|r2", channel: "discord::c1", text: "Another reply.", speaker: "Aria", now: later)
        #expect(registry.count == 1, "the expired text is gone")

        var edited = self.registry()
        edited.recordSent(key: "discord::c1|r1", channel: "discord::c1", text: Self.reply + " Come in.", speaker: nil, now: .seconds(100))
        #expect(edited.count == 1)
        #expect(edited.isEcho(nick: "Aria", text: "lamps are lit. Come in.", now: .seconds(200)), "the edit kept the persona's name")
    }

    @Test("at most `capacity` texts are kept, the oldest going first")
    func capacity() {
        var registry = RelayEchoRegistry()
        for index in 0..<(RelayEchoRegistry.capacity + 10) {
            registry.recordSent(key: "k\(index)", channel: "c", text: "reply #\(index)!", speaker: "Aria", now: .seconds(1))
        }
        #expect(registry.count == RelayEchoRegistry.capacity)
        #expect(!registry.isEcho(nick: "Aria", text: "reply #3!", now: .seconds(2)))
        #expect(registry.isEcho(nick: "Aria", text: "reply #\(RelayEchoRegistry.capacity + 9)!", now: .seconds(2)))
    }

    @Test("normalising: case, whitespace runs, truncation marks and zero-width characters")
    func normalize() {
        #expect(RelayEchoRegistry.normalize("  Hello\n\tWorld …") == "hello world")
        #expect(RelayEchoRegistry.normalize("A\u{200B}b... ...") == "ab")
    }
}
