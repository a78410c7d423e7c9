/// Proxy bots (PluralKit, Tupperbox) delete a user's message and repost its text through a webhook under a
/// member's name. This machine holds human messages in channels where proxies post for `wait`, pairs a deleted
/// original with its webhook copy, and emits exactly one message for the pair: the copy (the message that stays),
/// credited to the member and authored by the original user. Pure: the adapter feeds it events and the time, runs
/// the PluralKit look-ups it asks for, and wakes it at `nextDeadline`.
struct ProxyHold<Payload: Sendable>: Sendable {
    /// What the adapter knows of a message when it arrives.
    struct Seen: Sendable {
        /// Message id.
        var id: String
        /// Channel (or thread) id.
        var channelID: String
        /// Raw content, as Discord sent it.
        var text: String
        /// The whole message, handed back in actions.
        var payload: Payload
    }

    /// Who a proxied message is credited to.
    struct Credit: Sendable {
        /// The original message, when it was seen (its author is the real user).
        var original: Payload?
        /// The real user's id, when only PluralKit named them.
        var senderID: String?
        /// The member's name (the webhook's username, or PluralKit's member name).
        var memberName: String
    }

    /// What the adapter must do.
    enum Action: Sendable {
        /// Pass the message on as it is.
        case emit(Payload)
        /// Pass the webhook copy on, authored by the original user and credited to the member.
        case emitProxied(Payload, Credit)
        /// Ask PluralKit who sent this webhook message; answer with `identified` or `lookupFailed`.
        case lookUp(messageID: String, channelID: String)
        /// Pass the deletion on (the deleted message was emitted).
        case forwardDelete(messageID: String, channelID: String)
    }

    /// A held original.
    private struct Held: Sendable {
        var seen: Seen
        var due: Duration
        var deleted = false
        /// The webhook copy that matched, waiting for the original's deletion.
        var copy: Seen?
        var copyName: String?
    }

    /// A recent human message, kept after it left the hold for late copies and failed look-ups.
    private struct Recent: Sendable {
        var id: String
        var text: String
        /// Kept only for a message not passed on yet: one already emitted is never emitted again.
        var payload: Payload?
        var seq: UInt64
        var at: Duration
        var deleted: Bool
        /// Emitted before its copy came (a channel not yet known for proxies): the copy is dropped (the original was
        /// answered already) and the original's deletion is not passed on (it stays in history).
        var emitted: Bool
        var copied = false
    }

    /// How long a held message waits; zero passes everything through.
    let wait: Duration
    /// Held messages per channel at most; the oldest is released when one more comes.
    let maxHeldPerChannel: Int
    /// Recent messages remembered per channel for matching late copies.
    let maxRecentPerChannel: Int
    let maxRecentTotal: Int
    /// How long a recent message may still match a copy.
    let recentWindow: Duration

    private var held: [String: [Held]] = [:]
    private var recent: [String: [Recent]] = [:]
    private var pending: [String: (seen: Seen, name: String, at: Duration)] = [:]
    /// Every remembered message in arrival order, across channels: what ages out (or is over the total cap) is at
    /// its front, so expiry costs O(1) per message however many channels are active.
    /// `trimmed` when the record left its channel's list already, so expiring it needs no look-up of the channel.
    private var order: [(channel: String, seq: UInt64, at: Duration, trimmed: Bool)] = []
    private var orderHead = 0
    /// The seq of `order[0]`: each remembered message appends one record with the next seq, so a seq's record is
    /// at `seq - orderBase`.
    private var orderBase: UInt64 = 0
    private var nextSeq: UInt64 = 0
    /// Recent human messages kept (all channels), which a late webhook copy is matched against.
    private(set) var recentCount = 0
    /// Records in `order`, live or not; bounded by twice the total cap.
    var orderCount: Int { order.count - orderHead }
    /// Channels where proxies post: configured, and learned when one posts.
    private(set) var proxyChannels: Set<String>

    /// Creates the machine.
    init(wait: Duration, proxyChannels: Set<String> = [], maxHeldPerChannel: Int = 32, maxRecentPerChannel: Int = 64,
         maxRecentTotal: Int = 4_096, recentWindow: Duration? = nil) {
        self.maxRecentTotal = max(1, maxRecentTotal)
        self.wait = wait
        self.proxyChannels = proxyChannels
        self.maxHeldPerChannel = maxHeldPerChannel
        self.maxRecentPerChannel = maxRecentPerChannel
        self.recentWindow = recentWindow ?? max(wait * 4, .seconds(10))
    }

    /// Whether proxy handling is on at all.
    var isEnabled: Bool { wait > .zero }
    /// Messages held or waiting for a look-up (tests wait for zero).
    var count: Int { held.values.reduce(0) { $0 + $1.count } + pending.count }
    /// Channels with recent human messages.
    var recentChannels: Int { recent.count }
    /// When the oldest held message is due; nil when nothing is held.
    var nextDeadline: Duration? { held.values.compactMap { $0.first?.due }.min() }

    // MARK: Events

    /// Marks a channel as one where proxies post (a thread of a proxy channel, when first seen).
    mutating func learn(_ channelID: String) {
        proxyChannels.insert(channelID)
    }

    /// A human message (not a bot's, not a webhook's, not a DM): held in a proxy channel, else emitted at once.
    mutating func human(_ seen: Seen, now: Duration) -> [Action] {
        guard isEnabled else { return [.emit(seen.payload)] }
        // No lookup of recent messages here: `remember` ages them out (the held path leaves them alone).
        guard proxyChannels.contains(seen.channelID) else {
            rememberPassing(id: seen.id, channelID: seen.channelID, text: seen.text, now: now)
            return [.emit(seen.payload)]
        }
        var actions: [Action] = []
        var queue = held[seen.channelID, default: []]
        // Bounded: a flood releases the oldest early rather than growing the hold.
        while queue.count >= maxHeldPerChannel {
            actions += release(queue.removeFirst(), now: now)
        }
        queue.append(Held(seen: seen, due: now + wait))
        held[seen.channelID] = queue
        return actions
    }

    /// A human message outside proxy channels, passed on at once: only remembered, for a late copy to match.
    mutating func rememberPassing(id: String, channelID: String, text: String, now: Duration) {
        guard isEnabled else { return }
        remember(id: id, channelID: channelID, text: text, payload: nil, now: now, deleted: false, emitted: true, fresh: true)
    }

    /// A webhook message that is not the bridge's own: paired with a held original by content at once, else looked up.
    mutating func webhook(_ seen: Seen, name: String, now: Duration) -> [Action] {
        guard isEnabled else { return [.emit(seen.payload)] }
        prune(now: now)
        if var queue = held[seen.channelID],
           let index = queue.firstIndex(where: { $0.copy == nil && Self.matches(copy: seen.text, original: $0.seen.text) }) {
            if queue[index].deleted {
                let original = queue.remove(at: index)
                held[seen.channelID] = queue.isEmpty ? nil : queue
                return paired(original.seen, copy: seen, name: name, now: now)
            }
            queue[index].copy = seen
            queue[index].copyName = name
            held[seen.channelID] = queue
            return []
        }
        // Elsewhere only a webhook repeating a recent human message may be a proxy's copy: other webhooks (relays,
        // other bots) pass on at once, and PluralKit is not asked about them.
        guard proxyChannels.contains(seen.channelID)
            || recent[seen.channelID]?.contains(where: { !$0.copied && Self.matches(copy: seen.text, original: $0.text, strict: true) }) == true
        else { return [.emit(seen.payload)] }
        pending[seen.id] = (seen, name, now)
        return [.lookUp(messageID: seen.id, channelID: seen.channelID)]
    }

    /// A message was deleted.
    mutating func deleted(messageID: String, channelID: String, now: Duration) -> [Action] {
        if var queue = held[channelID], let index = queue.firstIndex(where: { $0.seen.id == messageID }) {
            // Never emitted, so there is nothing to pass on.
            if let copy = queue[index].copy {
                let original = queue.remove(at: index)
                held[channelID] = queue.isEmpty ? nil : queue
                return paired(original.seen, copy: copy, name: original.copyName ?? "", now: now)
            }
            queue[index].deleted = true
            held[channelID] = queue
            return []
        }
        if let index = recent[channelID]?.firstIndex(where: { $0.id == messageID }) {
            recent[channelID]?[index].deleted = true
            if recent[channelID]?[index].copied == true { return [] }
            if recent[channelID]?[index].emitted == false { return [] }
        }
        return [.forwardDelete(messageID: messageID, channelID: channelID)]
    }

    /// A message was edited: a held one takes the new text (what goes on when its wait ends, and what a copy is
    /// matched against), and the edit itself goes no further, since the message has not. Returns whether it was held.
    mutating func edited(messageID: String, channelID: String, text: String, update: (Payload) -> Payload) -> Bool {
        guard var queue = held[channelID], let index = queue.firstIndex(where: { $0.seen.id == messageID }) else { return false }
        queue[index].seen.text = text
        queue[index].seen.payload = update(queue[index].seen.payload)
        held[channelID] = queue
        return true
    }

    /// PluralKit named the sender (and original) of a webhook message.
    mutating func identified(_ messageID: String, originalID: String?, senderID: String, memberName: String?, now: Duration) -> [Action] {
        guard let entry = pending.removeValue(forKey: messageID) else { return [] }
        let channel = entry.seen.channelID
        let name = memberName ?? entry.name
        if let originalID {
            if var queue = held[channel], let index = queue.firstIndex(where: { $0.seen.id == originalID }) {
                let original = queue.remove(at: index)
                held[channel] = queue.isEmpty ? nil : queue
                return paired(original.seen, copy: entry.seen, name: name, now: now)
            }
            if let index = recent[channel]?.firstIndex(where: { $0.id == originalID }) {
                return fromRecent(index, copy: entry.seen, name: name)
            }
        }
        proxyChannels.insert(channel)
        return [.emitProxied(entry.seen.payload, Credit(original: nil, senderID: senderID, memberName: name))]
    }

    /// PluralKit did not know the message (Tupperbox, a relay) or could not be asked: content and time decide.
    mutating func lookupFailed(_ messageID: String, now: Duration) -> [Action] {
        guard let entry = pending.removeValue(forKey: messageID) else { return [] }
        let channel = entry.seen.channelID
        prune(now: now)
        if var queue = held[channel],
           let index = queue.firstIndex(where: { $0.copy == nil && Self.matches(copy: entry.seen.text, original: $0.seen.text) }) {
            let original = queue.remove(at: index)
            held[channel] = queue.isEmpty ? nil : queue
            return paired(original.seen, copy: entry.seen, name: entry.name, now: now)
        }
        // The newest unpaired one: a copy follows its original within a second or two.
        if let index = recent[channel]?.lastIndex(where: {
            !$0.copied && Self.matches(copy: entry.seen.text, original: $0.text, strict: true)
        }) {
            return fromRecent(index, copy: entry.seen, name: entry.name)
        }
        return [.emit(entry.seen.payload)]
    }

    /// Releases what is due: untouched originals as they are; deleted ones with no copy are dropped (the user or a
    /// moderator removed them).
    mutating func expire(now: Duration) -> [Action] {
        var actions: [Action] = []
        for channel in held.keys.sorted() {
            guard var queue = held[channel] else { continue }
            while let first = queue.first, first.due <= now {
                actions += release(queue.removeFirst(), now: now)
            }
            held[channel] = queue.isEmpty ? nil : queue
        }
        return actions
    }

    // MARK: Helpers

    /// Whether a webhook's text is an original's text with proxy tags around it (`pk:hello`, `[hello]`, `hello -k`):
    /// equal after trimming, or contained with a short tag on one line either side. `strict` (no deletion seen to
    /// back the match) also wants each side to be one token, and two-sided tags to be brackets on at least one side,
    /// so "hi" is not taken for a copy of "oh hi there".
    static func matches(copy: String, original: String, strict: Bool = false) -> Bool {
        let copy = copy.trimmingWhitespace, original = original.trimmingWhitespace
        if copy == original { return true }
        guard !copy.isEmpty, let range = original.firstRange(of: copy) else { return false }
        let prefix = original[..<range.lowerBound].trimmingWhitespace
        let suffix = original[range.upperBound...].trimmingWhitespace
        guard prefix.count + suffix.count <= maxTagLength, !prefix.contains(where: \.isNewline), !suffix.contains(where: \.isNewline) else { return false }
        guard strict else { return true }
        if prefix.contains(where: \.isWhitespace) || suffix.contains(where: \.isWhitespace) { return false }
        if !prefix.isEmpty && !suffix.isEmpty {
            return !prefix.contains(where: { $0.isLetter || $0.isNumber }) || !suffix.contains(where: { $0.isLetter || $0.isNumber })
        }
        return true
    }

    /// Proxy tags are short: PluralKit allows 100 characters for prefix and suffix together.
    static var maxTagLength: Int { 100 }

    private mutating func paired(_ original: Seen, copy: Seen, name: String, now: Duration) -> [Action] {
        proxyChannels.insert(copy.channelID)
        remember(original, now: now, deleted: true, emitted: false, copied: true)
        return [.emitProxied(copy.payload, Credit(original: original.payload, senderID: nil, memberName: name))]
    }

    private mutating func fromRecent(_ index: Int, copy: Seen, name: String) -> [Action] {
        let channel = copy.channelID
        guard var entry = recent[channel]?[index] else { return [.emit(copy.payload)] }
        proxyChannels.insert(channel)
        entry.copied = true
        recent[channel]?[index] = entry
        // Already answered as the user's own message: a second answer to the copy is what this machine prevents.
        if entry.emitted { return [] }
        return [.emitProxied(copy.payload, Credit(original: entry.payload, senderID: nil, memberName: name))]
    }

    private mutating func release(_ item: Held, now: Duration) -> [Action] {
        if item.deleted {
            remember(item.seen, now: now, deleted: true, emitted: false)
            return []
        }
        remember(item.seen, now: now, deleted: false, emitted: true)
        var actions: [Action] = [.emit(item.seen.payload)]
        // A copy matched by content while the original stayed: not a proxy after all, both are messages.
        if let copy = item.copy { actions.append(.emit(copy.payload)) }
        return actions
    }

    private mutating func remember(_ seen: Seen, now: Duration, deleted: Bool, emitted: Bool, copied: Bool = false) {
        remember(id: seen.id, channelID: seen.channelID, text: seen.text, payload: emitted ? nil : seen.payload, now: now,
                 deleted: deleted, emitted: emitted, copied: copied)
    }

    private mutating func remember(id: String, channelID: String, text: String, payload: Payload?, now: Duration, deleted: Bool,
                                   emitted: Bool, copied: Bool = false, fresh: Bool = false) {
        let cap = maxRecentPerChannel
        let seq = nextSeq
        nextSeq += 1
        // Changed in place through the dictionary's accessor: a copy taken out and stored back would duplicate the
        // whole list (and retain every payload in it) once per message.
        var trimmed: [UInt64] = []
        update(channelID) { list in
            if !fresh { list.removeAll { $0.id == id } }
            list.append(Recent(id: id, text: text, payload: payload, seq: seq, at: now,
                               deleted: deleted, emitted: emitted, copied: copied))
            // Trimmed in batches: between `cap` and twice that are kept, so a flood does not shift the list per message.
            if list.count >= 2 * cap {
                trimmed = list[..<(list.count - cap)].map(\.seq)
                list.removeFirst(list.count - cap)
            }
        }
        // A busy channel's records mostly leave by this trim: marked here, their expiry skips the channel's look-up
        // (which cost a hash of the channel id per message of a flood).
        for gone in trimmed where gone >= orderBase {
            let index = Int(gone - orderBase)
            if index < order.count {
                assert(order[index].seq == gone, "a record's place in `order` follows from its seq")
                order[index].trimmed = true
            }
        }
        order.append((channelID, seq, now, false))
        prune(now: now)
    }

    /// Changes one channel's list in place, keeping `recentCount` right and dropping the channel once it is empty.
    private mutating func update(_ channel: String, _ body: (inout [Recent]) -> Void) {
        // One hash lookup for the change itself (this runs for every human message of a flood).
        let (change, empty) = Self.change(&recent[channel, default: []], body)
        recentCount += change
        if empty { recent[channel] = nil }
    }

    private static func change(_ list: inout [Recent], _ body: (inout [Recent]) -> Void) -> (Int, Bool) {
        let before = list.count
        body(&list)
        return (list.count - before, list.isEmpty)
    }

    /// Forgets, oldest first, what is older than the window, over the total cap, or too far back in `order`
    /// (whose records of messages already trimmed from their channel linger until they reach the front).
    private mutating func prune(now: Duration) {
        while orderHead < order.count {
            // Read in place: a copy of the record retained its channel id, for records that are mostly trimmed.
            guard now - order[orderHead].at > recentWindow || recentCount > maxRecentTotal || order.count - orderHead > 2 * maxRecentTotal
            else { break }
            orderHead += 1
            if order[orderHead - 1].trimmed { continue }
            let oldest = order[orderHead - 1]
            if recent[oldest.channel]?.first?.seq == oldest.seq { update(oldest.channel) { $0.removeFirst() } }
        }
        if orderHead > 1_024, orderHead * 2 > order.count {
            order.removeFirst(orderHead)
            orderBase += UInt64(orderHead)
            orderHead = 0
        }
    }
}

extension StringProtocol {
    fileprivate var trimmingWhitespace: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
