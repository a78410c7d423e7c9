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

    /// A minimal PNG: signature, the given tEXt chunks, IEND (CRCs are not checked by the importer).
    static func png(texts: [(String, String)]) -> Data {
        var bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        func chunk(_ type: String, _ body: [UInt8]) {
            let length = UInt32(body.count)
            bytes += [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
            bytes += Array(type.utf8) + body + [0, 0, 0, 0]
        }
        for (keyword, text) in texts {
            chunk("tEXt", Array(keyword.utf8) + [0] + Array(Data(text.utf8).base64EncodedString().utf8))
        }
        chunk("IEND", [])
        return Data(bytes)
    }

    @Test("a PNG card prefers the ccv3 chunk over chara")
    func pngCard() throws {
        let v2 = #"{"spec":"chara_card_v2","data":{"name":"Old","description":"v2 text"}}"#
        let v3 = #"{"spec":"chara_card_v3","data":{"name":"New","description":"v3 text"}}"#
        let (persona, format) = try CharacterCardImporter.importPersona(png: Self.png(texts: [("chara", v2), ("ccv3", v3)]))
        #expect(format == .cardV3)
        #expect(persona.displayName == "New")
        let (older, olderFormat) = try CharacterCardImporter.importPersona(png: Self.png(texts: [("chara", v2)]))
        #expect(olderFormat == .cardV2)
        #expect(older.character == "v2 text")
        do {
            _ = try CharacterCardImporter.importPersona(png: Self.png(texts: [("Comment", "hello")]))
            Issue.record("a PNG without a card must not import")
        } catch {
            #expect(error.code == .unknownFormat)
        }
        #expect(throws: CharacterCardError.self) { try CharacterCardImporter.importPersona(png: Data("GIF89a".utf8)) }
    }
}
