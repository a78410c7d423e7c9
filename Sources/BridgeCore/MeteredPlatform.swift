/// Wraps a platform for the router's outgoing calls, counting messages sent and edits in the metrics.
final class MeteredPlatform: ChatPlatform, Sendable {
    let base: any ChatPlatform
    let metrics: BridgeMetrics
    /// Never used: the router reads events from the wrapped platform.
    let events = AsyncStream<PlatformEvent> { $0.finish() }

    init(_ base: any ChatPlatform, metrics: BridgeMetrics) {
        self.base = base
        self.metrics = metrics
    }

    var platformName: String { base.platformName }
    var capabilities: PlatformCapabilities { base.capabilities }
    var editBudgets: EditBudgetBoard { base.editBudgets }
    var isConnected: Bool { base.isConnected }

    func send(_ text: String, in channel: ChannelRef, replyTo: String?, as identity: PersonaIdentity?) async throws -> SentMessageRef {
        let sent = try await base.send(text, in: channel, replyTo: replyTo, as: identity)
        metrics.messageSent(platform: base.platformName)
        return sent
    }

    func edit(_ message: SentMessageRef, text: String) async throws {
        try await base.edit(message, text: text)
        metrics.editSent(platform: base.platformName)
    }

    func typing(in channel: ChannelRef) async { await base.typing(in: channel) }

    func handled(_ event: PlatformEvent) async { await base.handled(event) }

    func isModerator(_ user: ChatUser, in channel: ChannelRef) async -> Bool { await base.isModerator(user, in: channel) }

    /// The wrapped platform runs as its own service.
    func run() async throws {}
}
