/// Why a line could not be queued.
public struct OutgoingQueueError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Error category.
    public struct Code: Hashable, Sendable {
        let raw: String
        /// The channel's queue has no room; nothing was queued.
        public static let queueFull = Code(raw: "queueFull")
    }

    /// Error category.
    public let code: Code
    /// Channel whose queue was full.
    public let channel: String
    /// Lines already waiting in that channel.
    public let queued: Int
    /// Per-channel capacity.
    public let capacity: Int

    /// Text for logs.
    public var description: String { "OutgoingQueueError(\(code.raw)): \(channel) holds \(queued)/\(capacity) lines" }
}

/// Result of asking the queue for the next line.
public enum OutgoingQueueStep<Element: Sendable>: Sendable {
    /// Send this line for this channel now.
    case send(channel: String, element: Element)
    /// Lines are waiting but the bucket is empty; ask again after this long.
    case wait(Duration)
    /// Nothing queued.
    case idle
}

/// Bounded per-channel queues served round-robin through one flood bucket, so no channel starves another.
public struct OutgoingQueue<Element: Sendable, Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// Maximum lines waiting per channel.
    public let capacityPerChannel: Int
    /// The shared flood bucket.
    public private(set) var bucket: FloodBucket<Instant>
    private var queues: [String: [Element]] = [:]
    private var rotation: [String] = []

    /// Creates a queue.
    public init(capacityPerChannel: Int = 64, bucket: FloodBucket<Instant> = FloodBucket()) {
        self.capacityPerChannel = max(1, capacityPerChannel)
        self.bucket = bucket
    }

    /// Lines waiting for `channel`.
    public func count(for channel: String) -> Int { queues[channel]?.count ?? 0 }

    /// Whether nothing is waiting.
    public var isEmpty: Bool { rotation.isEmpty }

    /// Queues all `elements` for `channel`, or none of them when they do not fit.
    public mutating func enqueue(_ elements: [Element], for channel: String) throws(OutgoingQueueError) {
        let queued = count(for: channel)
        guard queued + elements.count <= capacityPerChannel else {
            throw OutgoingQueueError(code: .queueFull, channel: channel, queued: queued, capacity: capacityPerChannel)
        }
        guard !elements.isEmpty else { return }
        if queued == 0 { rotation.append(channel) }
        queues[channel, default: []].append(contentsOf: elements)
    }

    /// The next line to send at `now`, taking a bucket token; channels take turns.
    public mutating func next(now: Instant) -> OutgoingQueueStep<Element> {
        guard let channel = rotation.first else { return .idle }
        if let wait = bucket.take(now: now) { return .wait(wait) }
        rotation.removeFirst()
        var queue = queues[channel] ?? []
        let element = queue.removeFirst()
        if queue.isEmpty {
            queues[channel] = nil
        } else {
            queues[channel] = queue
            rotation.append(channel)
        }
        return .send(channel: channel, element: element)
    }
}
