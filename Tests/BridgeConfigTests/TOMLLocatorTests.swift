import BridgeConfig
import Testing

@Suite("TOMLLocator")
struct TOMLLocatorTests {
    let source = """
        # comment = not a key
        top = 1
        [model]
        provider = "openrouter"   # trailing = comment
        "quoted key" = 2
        text = \"\"\"
        fake = 3
        \"\"\"
        list = [
          "a = b",
          [1, 2],
        ]
        after = true

        [[channels]]
        platform = "console"
        [channels.trigger]
        mode = "always"

        [[channels]]
        platform = "irc"
        trigger = { mode = "mention" }
        [platforms.discord]
        token = "${X}"
        [[examples]]
        user = "u"
        """

    @Test("maps keys, quoted keys, array tables and their sub-tables to lines")
    func lines() {
        let locator = TOMLLocator(source: source)
        #expect(locator.line(of: "top") == 2)
        #expect(locator.line(of: "model") == 3)
        #expect(locator.line(of: "model.provider") == 4)
        #expect(locator.line(of: "model.quoted key") == 5)
        #expect(locator.line(of: "model.text") == 6)
        #expect(!locator.contains("model.fake"))
        #expect(locator.line(of: "model.list") == 9)
        #expect(locator.line(of: "model.after") == 13)
        #expect(locator.line(of: "channels[0]") == 15)
        #expect(locator.line(of: "channels[0].platform") == 16)
        #expect(locator.line(of: "channels[0].trigger.mode") == 18)
        #expect(locator.line(of: "channels[1]") == 20)
        #expect(locator.line(of: "channels[1].trigger") == 22)
        #expect(locator.line(of: "platforms.discord.token") == 24)
        #expect(locator.line(of: "examples[0].user") == 26)
        #expect(!locator.contains("comment"))
    }

    @Test("an unknown path falls back to the nearest enclosing table")
    func fallback() {
        let locator = TOMLLocator(source: source)
        #expect(locator.line(of: "channels[1].trigger.mode") == 22)
        #expect(locator.line(of: "model.missing") == 3)
        #expect(locator.line(of: "nowhere") == nil)
        #expect(locator.position(of: "model.provider")?.column == 1)
    }
}
