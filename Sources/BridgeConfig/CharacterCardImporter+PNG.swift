import Foundation

extension CharacterCardImporter {
    /// Imports a PNG character card: the JSON sits base64-encoded in a `tEXt` chunk keyed `ccv3` (preferred) or `chara`.
    public static func importPersona(png: Data) throws(CharacterCardError) -> (persona: Persona, format: Format) {
        try importPersona(json: cardJSON(png: png))
    }
}
