/// Caps the edits of one streamed message, so a long reply never turns into hundreds of events.
///
/// Edits `1..<cap` go out as the Core scheduler paces them. From then on edits are held back and only the
/// newest text is kept; it is sent once no newer text came for `quiet` (the end of the stream), so the final
/// edit always carries the complete text. A model pause longer than `quiet` after the cap can cost one edit more.
public struct MatrixEditCap: Hashable, Sendable {
    /// What to do with an edit.
    public enum Decision: Hashable, Sendable {
        /// Send it now as edit number `number`.
        case send(number: Int)
        /// Hold it; call `flush(generation:)` after the quiet time with this generation.
        case hold(generation: Int)
    }

    /// Most edit events per message (at least 1).
    public let cap: Int
    /// Edits sent so far.
    public private(set) var sent = 0
    /// Text held back, if any.
    public private(set) var held: String?
    private var generation = 0

    /// Creates a policy for one message.
    public init(cap: Int) { self.cap = max(1, cap) }

    /// An edit to `text` was asked for.
    public mutating func request(_ text: String) -> Decision {
        if sent < cap - 1, held == nil {
            sent += 1
            return .send(number: sent)
        }
        held = text
        generation += 1
        return .hold(generation: generation)
    }

    /// The quiet time after a hold passed: the text to send (as edit `number`) if nothing newer came meanwhile.
    public mutating func flush(generation: Int) -> (text: String, number: Int)? {
        guard generation == self.generation, let text = held else { return nil }
        held = nil
        sent += 1
        return (text, sent)
    }
}
