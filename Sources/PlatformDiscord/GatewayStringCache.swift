/// The short strings a connection's payloads repeat (channel and guild ids, the ids and names of the people
/// talking), kept so that a repeat is the same string again instead of a new one.
///
/// A flood of chatter names the same few channels and speakers in every message; each new copy of an id was an
/// allocation on the read loop and a free on whichever thread let go of the message last. Not Sendable: one read
/// loop owns it.
final class GatewayStringCache {
    /// Longest string kept: snowflakes are 17-20 digits, usernames at most 32 bytes.
    static let maxLength = 32
    private static let slotCount = 256
    private var slots: [String?] = Array(repeating: nil, count: slotCount)
    /// Look-ups answered from the cache (tests).
    private(set) var hits = 0

    /// The string for `bytes` (UTF-8 without escapes): the cached one when it is the same, else a new one that
    /// replaces whatever shared its slot.
    func string(_ bytes: UnsafeBufferPointer<UInt8>.SubSequence) -> String {
        guard bytes.count <= Self.maxLength else { return Self.make(bytes) }
        // FNV-1a: cheap, and spreads the last digits of a snowflake over the slots.
        var hash: UInt32 = 2_166_136_261
        for byte in bytes { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let slot = Int(hash & UInt32(Self.slotCount - 1))
        if let cached = slots[slot], Self.equal(cached, bytes) {
            hits += 1
            return cached
        }
        let string = Self.make(bytes)
        slots[slot] = string
        return string
    }

    private static func make(_ bytes: UnsafeBufferPointer<UInt8>.SubSequence) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes), as: UTF8.self)
    }

    private static func equal(_ string: String, _ bytes: UnsafeBufferPointer<UInt8>.SubSequence) -> Bool {
        let utf8 = string.utf8
        guard utf8.count == bytes.count else { return false }
        return utf8.withContiguousStorageIfAvailable { stored in
            stored.elementsEqual(bytes)
        } ?? utf8.elementsEqual(bytes)
    }
}
