/// Transaction IDs derived from what is being sent, so a retry (even after a restart on the same device)
/// reuses the ID and the homeserver returns the original event instead of creating a second one.
public enum MatrixTransactionID {
    /// The ID of send number `part` for the reply to `trigger` in `room`, with its first text: the same inputs
    /// (a retry) give the same ID; a new answer to the same message (other text or part) gives another.
    public static func reply(room: String, trigger: String, part: Int, text: String) -> String {
        "pb\(digest(room + "\u{0}" + trigger + "\u{0}" + text))r\(part)"
    }

    /// The ID of edit number `edit` (1-based) of the message sent under `base`.
    public static func edit(base: String, edit: Int) -> String {
        "\(base).e\(edit)"
    }

    /// FNV-1a 64-bit, hex: stable across runs and platforms (Swift's `Hasher` is seeded per process).
    static func digest(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
