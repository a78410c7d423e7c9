/// The persisted catch-up position of one Discord channel: the newest message id such that it and every
/// message before it that reached the Router have been completely handled.
///
/// The mark moves only when the Router acknowledges a message (`ChatPlatform.handled`), and never past a
/// message still in flight, so a crash mid-handling leaves the message after the mark and the restart's
/// catch-up delivers it again (the store's claims keep it from being answered twice).
struct CatchUpMark: Sendable, Equatable {
    /// The last mark returned for persisting.
    private(set) var persisted: String?
    private var inFlight: Set<String> = []
    private var handledAhead: [String] = []

    /// Starts from a mark read from the store, if any.
    init(persisted: String? = nil) { self.persisted = persisted }

    /// A message was passed to the Router.
    mutating func delivered(_ id: String) {
        guard persisted.map({ CatchUpMark.less($0, id) }) ?? true else { return }
        inFlight.insert(id)
    }

    /// The Router finished a message; returns the new mark to persist when it moved.
    mutating func handled(_ id: String) -> String? {
        inFlight.remove(id)
        if persisted.map({ CatchUpMark.less($0, id) }) ?? true, !handledAhead.contains(id) { handledAhead.append(id) }
        let oldestInFlight = inFlight.min(by: CatchUpMark.less)
        let ready = handledAhead.filter { id in oldestInFlight.map { limit in CatchUpMark.less(id, limit) } ?? true }
        guard let mark = ready.max(by: CatchUpMark.less) else { return nil }
        persisted = mark
        handledAhead.removeAll { !CatchUpMark.less(mark, $0) }
        return mark
    }

    /// Snowflakes compare numerically; equal-length decimal strings compare like numbers.
    static func less(_ a: String, _ b: String) -> Bool {
        a.count != b.count ? a.count < b.count : a < b
    }
}
