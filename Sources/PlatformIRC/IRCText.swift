/// Byte-to-text decoding for IRC: UTF-8, falling back to Latin-1 for invalid input.
public enum IRCText {
    /// Decodes bytes as UTF-8 when valid, otherwise as Latin-1 (every byte maps to one scalar, nothing lost).
    public static func decode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        if let s = String(validating: bytes, as: UTF8.self) { return s }
        var out = ""
        out.unicodeScalars.append(contentsOf: bytes.map { Unicode.Scalar($0) })
        return out
    }
}
