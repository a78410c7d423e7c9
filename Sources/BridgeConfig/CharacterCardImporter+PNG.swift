import Foundation

extension CharacterCardImporter {
    /// Imports a PNG character card: the JSON sits base64-encoded in a `tEXt` chunk keyed `ccv3` (preferred) or `chara`.
    public static func importPersona(png: Data) throws(CharacterCardError) -> (persona: Persona, format: Format) {
        let bytes = [UInt8](png)
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard bytes.count >= 8, Array(bytes[0..<8]) == signature else {
            throw CharacterCardError(code: .unknownFormat, message: "not a PNG file")
        }
        var texts: [String: [UInt8]] = [:]
        var offset = 8
        while offset + 12 <= bytes.count {
            let length = bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            let start = offset + 8
            guard length >= 0, start + length + 4 <= bytes.count else {
                throw CharacterCardError(code: .invalidJSON, message: "the PNG is truncated inside a \(type) chunk")
            }
            if type == "tEXt", let separator = bytes[start..<(start + length)].firstIndex(of: 0) {
                let keyword = String(decoding: bytes[start..<separator], as: UTF8.self)
                texts[keyword] = Array(bytes[(separator + 1)..<(start + length)])
            }
            if type == "IEND" { break }
            offset = start + length + 4
        }
        guard let encoded = texts["ccv3"] ?? texts["chara"] else {
            throw CharacterCardError(code: .unknownFormat, message: "the PNG has no character card (no 'ccv3' or 'chara' tEXt chunk)")
        }
        guard let json = Data(base64Encoded: Data(encoded), options: .ignoreUnknownCharacters) else {
            throw CharacterCardError(code: .invalidJSON, message: "the PNG's character card text is not valid base64")
        }
        return try importPersona(json: json)
    }
}
