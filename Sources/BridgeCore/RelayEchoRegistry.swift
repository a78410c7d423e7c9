/// What the bridge sent lately, so a relay bot carrying one of its own replies back (a persona's Discord reply
/// relayed into IRC as `[discord] <Aria> …`) is recognised by content and time and ignored instead of answered.
///
/// Pure: time comes in as the router clock's elapsed reading.
public struct RelayEchoRegistry: Sendable {
    /// How long a sent text is remembered after its last send or edit.
    public static let window: Duration = .seconds(120)
    /// Most texts remembered; the oldest go first.
    public static let capacity = 256
    /// Longest text remembered per message (normalised characters).
    static let maxTextLength = 8_192
    /// Shortest relayed text taken as an echo when the relay names someone other than the sender: short lines
    /// ("ok", "yes") are too common to be sure.
    static let minimumAnonymousEcho = 24

    private struct Entry: Sendable {
        var key: String
        /// The channel it was sent to: a relay may carry several of its messages (IRC lines) back as one.
        var channel: String
        /// The sender's name, lower-cased (the persona's display name), when the send had one.
        var speaker: String?
        var text: String
        var updated: Duration
    }

    private var entries: [Entry] = []

    /// Creates an empty registry.
    public init() {}

    /// Remembers a message the bridge sent to `channel`, or its newer text after an edit; `key` names the message
    /// (channel and id), `speaker` the persona it spoke as.
    public mutating func recordSent(key: String, channel: String, text: String, speaker: String?, now: Duration) {
        expire(now: now)
        let normalized = String(Self.normalize(text).prefix(Self.maxTextLength))
        if let index = entries.firstIndex(where: { $0.key == key }) {
            var entry = entries.remove(at: index)
            entry.text = normalized
            entry.updated = now
            if let speaker { entry.speaker = speaker.lowercased() }
            entries.append(entry)
        } else {
            guard !normalized.isEmpty else { return }
            entries.append(Entry(key: key, channel: channel, speaker: speaker?.lowercased(), text: normalized, updated: now))
            if entries.count > Self.capacity { entries.removeFirst(entries.count - Self.capacity) }
        }
    }

    /// Whether a relayed message, `text` said by `nick`, is one of the bridge's own texts coming back: all of it
    /// (after the relay's truncation mark, and after a `Name: ` prefix IRC puts before a persona's lines) is part of
    /// a text sent within the window, or of the texts sent to one channel in a row (IRC lines a relay joined), and
    /// either the relay names its sender or it is long enough to be sure.
    public func isEcho(nick: String, text: String, now: Duration) -> Bool {
        let recent = entries.filter { now - $0.updated <= Self.window }
        guard !recent.isEmpty else { return false }
        let said = Self.normalize(text)
        guard !said.isEmpty else { return false }
        let name = nick.lowercased()
        func matches(_ sent: String, speakers: [String]) -> Bool {
            var candidate = said
            var named = speakers.contains(name)
            if let speaker = speakers.first(where: { candidate.hasPrefix($0 + ": ") }) {
                candidate = String(candidate.dropFirst(speaker.count + 2))
                named = true
            }
            guard !candidate.isEmpty, named || candidate.count >= Self.minimumAnonymousEcho else { return false }
            return sent.contains(candidate)
        }
        for entry in recent.reversed() where matches(entry.text, speakers: entry.speaker.map { [$0] } ?? []) {
            return true
        }
        // Several messages carried back as one: compare with each channel's texts joined in sending order.
        var channels: [String: [Entry]] = [:]
        for entry in recent { channels[entry.channel, default: []].append(entry) }
        for sent in channels.values where sent.count > 1 {
            if matches(sent.map(\.text).joined(separator: " "), speakers: sent.compactMap(\.speaker)) { return true }
        }
        return false
    }

    /// Texts remembered now.
    public var count: Int { entries.count }

    private mutating func expire(now: Duration) {
        entries.removeAll { now - $0.updated > Self.window }
    }

    /// Lower-cased, whitespace runs as one space, trimmed, without a trailing truncation mark (`...`, `…`) and
    /// zero-width characters, so a relay's re-wrapping and cutting of a text still compares equal.
    static func normalize(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        var pendingSpace = false
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\u{200B}", "\u{200C}", "\u{200D}", "\u{2060}", "\u{FEFF}":
                continue
            case _ where scalar.properties.isWhitespace:
                pendingSpace = !result.isEmpty
            default:
                if scalar.value < 0x20 { continue }
                if pendingSpace { result.unicodeScalars.append(" ") }
                pendingSpace = false
                result.unicodeScalars.append(scalar)
            }
        }
        result = result.lowercased()
        while true {
            if result.hasSuffix("...") {
                result.removeLast(3)
            } else if result.hasSuffix("…") {
                result.removeLast()
            } else {
                break
            }
            while result.last == " " { result.removeLast() }
        }
        return result
    }
}
