/// What a reply's controls show: the buttons a platform with components attaches to the latest reply.
public struct ReplyControlState: Hashable, Sendable {
    /// Whether the reply is still streaming (only `stop` then).
    public var streaming: Bool
    /// The alternative shown, from 1.
    public var shown: Int
    /// How many alternatives the reply has (1 when it was never regenerated).
    public var count: Int

    /// Creates a state.
    public init(streaming: Bool, shown: Int = 1, count: Int = 1) {
        self.streaming = streaming
        self.shown = shown
        self.count = count
    }

    /// `‹ 2/3 ›`, or nil with a single alternative.
    public var counter: String? { count > 1 ? "‹ \(shown)/\(count) ›" : nil }
}

/// An adapter that can attach controls (buttons) to a message it sent; the router keeps them on the latest
/// reply of each channel only.
public protocol PlatformReplyControls: PlatformSender {
    /// Whether controls are shown at all (else the reply's text carries the `‹ 2/3 ›` counter).
    var showsReplyControls: Bool { get }
    /// Shows `state`'s controls on `message`, or removes them when `state` is nil; the text is left as it is.
    func setControls(_ state: ReplyControlState?, on message: SentMessageRef) async throws
}

/// An adapter that can post a file into a channel (the prompt view's `prompt.json`).
public protocol PlatformFileSender: PlatformSender {
    /// Posts `caption` and the file `filename` into `channel`.
    func sendFile(_ contents: [UInt8], filename: String, contentType: String, caption: String, in channel: ChannelRef,
                  replyTo: String?) async throws
}

extension PlatformSender {
    /// The adapter's reply controls, when it shows them.
    var replyControls: (any PlatformReplyControls)? {
        (adapter as? PlatformReplyControls).flatMap { $0.showsReplyControls ? $0 : nil }
    }

    /// The adapter itself, with the router's observing wrappers taken off (for its optional capabilities).
    var adapter: any PlatformSender {
        var current: any PlatformSender = self
        while true {
            if let observed = current as? ObservedSender {
                current = observed.base
            } else {
                return current
            }
        }
    }
}
