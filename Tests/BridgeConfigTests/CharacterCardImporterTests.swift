import BridgeConfig
import Foundation
import Testing

@Suite("Character card import")
struct CharacterCardImporterTests {
    @Test("a V2 card maps to a persona: system text, <START> example pairs, macros, greeting")
    func cardV2() throws {
        let json = #"""
        {"spec": "chara_card_v2", "spec_version": "2.0", "data": {
          "name": "Captain Rhea",
          "description": "{{char}} commands the airship Kestrel.",
          "personality": "brisk, loyal",
          "scenario": "{{user}} has just come aboard.",
          "first_mes": "Welcome aboard, {{user}}. I'm {{char}}.",
          "mes_example": "<START>\n{{user}}: Where are we headed?\n{{char}}: North, {{user}}.\nPast the storm wall.\n<START>\n{{user}}: Any coffee?\n{{char}}: Galley, second door.\n{{user}}: Thanks!\n",
          "system_prompt": "{{original}}Stay in character as {{char}}.",
          "tags": ["adventure"], "extensions": {}
        }}
        """#
        let (persona, format) = try CharacterCardImporter.importPersona(json: Data(json.utf8))
        #expect(format == .cardV2)
        #expect(persona.name == "captain-rhea")
        #expect(persona.displayName == "Captain Rhea")
        #expect(persona.character == """
            Stay in character as Captain Rhea.

            Captain Rhea commands the airship Kestrel.

            Personality: brisk, loyal

            Scenario: the user has just come aboard.
            """)
        #expect(persona.greeting == "Welcome aboard, the user. I'm Captain Rhea.")
        #expect(persona.examples == [
            PersonaExample(user: "Where are we headed?", ai: "North, User.\nPast the storm wall."),
            PersonaExample(user: "Any coffee?", ai: "Galley, second door."),
        ])
    }

    @Test("a V3 card is recognised and takes an http icon asset as avatar")
    func cardV3() throws {
        let json = #"""
        {"spec": "chara_card_v3", "spec_version": "3.0", "data": {
          "name": "Moss", "description": "A talking moss wall.", "nickname": "Mossy",
          "assets": [{"type": "icon", "uri": "https://example.org/moss.png", "name": "main", "ext": "png"}],
          "mes_example": "<START>\n<USER>: hi\n<BOT>: *rustles*"
        }}
        """#
        let (persona, format) = try CharacterCardImporter.importPersona(json: Data(json.utf8))
        #expect(format == .cardV3)
        #expect(persona.avatarURL == "https://example.org/moss.png")
        #expect(persona.aliases == ["Mossy"])
        #expect(persona.examples == [PersonaExample(user: "hi", ai: "*rustles*")])
    }

    @Test("an elizaOS character file maps bio, style and messageExamples")
    func eliza() throws {
        let json = #"""
        {"name": "Nova", "username": "nova", "system": "Roleplay as Nova, a ship AI.",
         "bio": ["Nova runs the ship.", "Nova loves puns."], "lore": ["Built in 2301."],
         "adjectives": ["witty", "calm"], "style": {"all": ["short sentences"], "chat": ["ask questions"]},
         "messageExamples": [[
            {"name": "{{user1}}", "content": {"text": "Status report?"}},
            {"name": "Nova", "content": {"text": "All systems nominal, {{user1}}."}}
         ]]}
        """#
        let (persona, format) = try CharacterCardImporter.importPersona(json: Data(json.utf8))
        #expect(format == .eliza)
        #expect(persona.name == "nova")
        #expect(persona.character.hasPrefix("Roleplay as Nova, a ship AI.\n\nNova runs the ship."))
        #expect(persona.character.contains("Background: Built in 2301."))
        #expect(persona.character.contains("Style: short sentences ask questions"))
        #expect(persona.examples == [PersonaExample(user: "Status report?", ai: "All systems nominal, User.")])
    }

    @Test("bad input gets a clear, typed error")
    func badInput() {
        #expect(throws: CharacterCardError.self) { try CharacterCardImporter.importPersona(json: Data("[1,2]".utf8)) }
        do {
            _ = try CharacterCardImporter.importPersona(json: Data(#"{"spec":"chara_card_v2","data":{"name":"X"}}"#.utf8))
            Issue.record("a card without any character text must not import")
        } catch {
            #expect(error.code == .missingField)
            #expect(error.message.contains("X"))
        }
        do {
            _ = try CharacterCardImporter.importPersona(json: Data(#"{"hello":"world"}"#.utf8))
            Issue.record("unknown JSON must not import")
        } catch {
            #expect(error.code == .unknownFormat)
        }
    }
}
