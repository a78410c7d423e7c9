/// The webhooks of the channels the bridge posts in: known ones, those created by us, and channels that fell
/// back to plain messages. Keyed by the host channel (a thread's parent).
struct DiscordWebhooks {
    /// What is known about a host channel's webhook.
    enum Lookup: Equatable {
        /// This webhook.
        case known(DiscordWebhook)
        /// The channel uses name-prefixed plain messages.
        case fallBack
        /// Nothing yet: load it from the store or create it.
        case unknown
    }

    private var byHost: [String: DiscordWebhook] = [:]
    private var ours: Set<String> = []
    private var fallBackHosts: Set<String> = []
    private var loggedFallBack = false

    /// What is known about `host`'s webhook.
    func lookup(_ host: String) -> Lookup {
        if fallBackHosts.contains(host) { return .fallBack }
        return byHost[host].map(Lookup.known) ?? .unknown
    }

    /// The webhook of `host`, if known.
    func webhook(of host: String) -> DiscordWebhook? { byHost[host] }

    /// Whether a message from webhook `id` is our own.
    func isOurs(_ id: String) -> Bool { ours.contains(id) }

    /// Remembers `host`'s webhook.
    mutating func remember(_ webhook: DiscordWebhook, for host: String) {
        byHost[host] = webhook
        ours.insert(webhook.id)
    }

    /// Forgets `host`'s webhook if it is still `webhook`; returns whether it did.
    mutating func forget(_ webhook: DiscordWebhook, of host: String) -> Bool {
        guard byHost[host] == webhook else { return false }
        byHost[host] = nil
        return true
    }

    /// Marks `host` as falling back to plain messages; true the first time any channel does (to log it once).
    mutating func fallBack(_ host: String) -> Bool {
        fallBackHosts.insert(host)
        defer { loggedFallBack = true }
        return !loggedFallBack
    }
}
