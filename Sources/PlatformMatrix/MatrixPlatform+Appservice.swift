import BridgeCore
import CCrypto
import Foundation
import HTTPTransport
import Logging
import ServiceLifecycle
import SocketTransport
import Storage

/// What appservice mode keeps in memory: the listener, handled transactions, persona users and their rooms.
struct MatrixAppserviceState: Sendable {
    var ledger = AppserviceTransactionLedger()
    var server: HTTPServer?
    var exchanges: AsyncStream<HTTPServerExchange>?
    var exchangesInput: AsyncStream<HTTPServerExchange>.Continuation?
    var port: Int?
    /// Persona users registered and with their profile set during this run.
    var readyUsers: Set<String> = []
    /// `user\u{0}room` pairs known joined.
    var joined: Set<String> = []
    var stats = MatrixPlatform.AppserviceStats()
}

extension MatrixPlatform {
    /// Counters of appservice mode, for status and tests.
    public struct AppserviceStats: Hashable, Sendable {
        /// Transactions whose events were delivered.
        public var transactionsHandled = 0
        /// Transactions answered 200 without handling (a repeat of a handled txnId).
        public var transactionsRepeated = 0
        /// Requests refused: missing (401) or wrong (403) `hs_token`.
        public var requestsRefused = 0
        /// Bodies refused as not JSON or not a transaction (400).
        public var badBodies = 0
        /// Events delivered from transactions.
        public var eventsDelivered = 0
        /// Users this run created through the registration API (an existing one is not counted).
        public var usersRegistered = 0
        /// Avatar uploads.
        public var avatarUploads = 0
    }

    /// Appservice counters so far.
    public var appserviceStats: AppserviceStats { appserviceState.withLock { $0.stats } }

    /// The port the transactions listener is bound to, once started.
    public var appserviceListenerPort: Int? { appserviceState.withLock { $0.port } }

    private var statePrefix: String { "matrix-as:\(configuration.userID):" }

    /// Binds the transactions listener (before `run()`, so the homeserver's registration can name its port);
    /// `run()` calls it when nobody did. Returns the bound port.
    @discardableResult
    public func startAppserviceListener() async throws -> Int {
        guard let appservice = configuration.appservice else {
            throw MatrixError(.login, "the Matrix adapter is not in appservice mode")
        }
        if let port = appserviceState.withLock({ $0.port }) { return port }
        let (stream, input) = AsyncStream.makeStream(of: HTTPServerExchange.self, bufferingPolicy: .bufferingNewest(64))
        let server = HTTPServer(host: appservice.listenAddress, port: appservice.listenPort, logger: logger,
                                maxBodyBytes: appservice.maxTransactionBytes, exchanges: input)
        let port = try await server.start()
        appserviceState.withLock {
            $0.server = server
            $0.exchanges = stream
            $0.exchangesInput = input
            $0.port = port
        }
        logger.info("appservice listener ready", metadata: ["address": "\(appservice.listenAddress):\(port)"])
        return port
    }

    /// Appservice mode's service: the listener answers the homeserver until cancelled or graceful shutdown.
    func appserviceService() async throws {
        try await startAppserviceListener()
        let (stream, server) = appserviceState.withLock { ($0.exchanges, $0.server) }
        guard let stream, let server else { return }
        do {
            // The homeserver is answered from the start; checking the token and preparing the personas runs
            // beside it (a fatal start-up error ends the group, and with it the service).
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { try await self.appserviceStartup() }
                    for await exchange in stream {
                        group.addTask { exchange.respond(await self.answer(exchange.request)) }
                    }
                }
            }
        } catch is CancellationError {
        } catch {
            appserviceState.withLock { $0.exchangesInput?.finish() }
            await server.stop()
            logger.error("Matrix appservice stopped: \(error)", metadata: ["error": "\(error)"])
            throw error
        }
        appserviceState.withLock { $0.exchangesInput?.finish() }
        await server.stop()
    }

    /// Start-up beside the listener: the `as_token` belongs to the sender user; personas' users, rooms; ready.
    private func appserviceStartup() async throws {
        guard let appservice = configuration.appservice else { return }
        let who = try await whoamiRetryingTransientFailures()
        guard who.userID == appservice.senderUserID else {
            throw MatrixError(.login, "as_token belongs to \(who.userID), not \(appservice.senderUserID): check sender_localpart and server_name")
        }
        for persona in appservice.personas {
            do { try await preparePersonaUser(persona) } catch {
                logger.warning("could not prepare a persona's Matrix user; retrying when it speaks",
                               metadata: ["persona": "\(persona.name)", "error": "\(error)"])
            }
        }
        markReady()
        for room in appservice.boundRooms.keys.sorted() { await joinBoundPersonas(room) }
    }

    /// A homeserver that is down at start-up is waited for; an `as_token` it does not know is a clear error.
    private func whoamiRetryingTransientFailures() async throws -> (userID: String, deviceID: String?) {
        var backoff = MatrixBackoff(initial: configuration.retryInitialDelay, maximum: configuration.retryMaxDelay)
        while true {
            let failure: MatrixError
            do {
                return try await client.whoami()
            } catch {
                failure = error
            }
            if failure.code == .unknownToken || failure.status == 401 || failure.status == 403 {
                throw MatrixError(.unknownToken,
                                  "the homeserver does not accept the as_token: add the registration file to its app_service_config_files and restart it",
                                  status: failure.status, errcode: failure.errcode)
            }
            guard failure.isTransient else { throw failure }
            let delay = failure.retryAfter ?? backoff.next()
            logger.warning("the homeserver is not reachable yet; retrying", metadata: ["error": "\(failure)", "delay": "\(delay)"])
            try await clock.sleep(for: delay)
        }
    }

    // MARK: Requests from the homeserver

    /// One homeserver request: authenticated with `hs_token`, then routed.
    func answer(_ request: HTTPServerRequest) async -> HTTPServerResponse {
        guard let appservice = configuration.appservice else { return Self.matrixError(500, "M_UNKNOWN", "not an appservice") }
        let route = MatrixAppserviceRoute(method: request.method, path: request.path)
        guard let given = MatrixAppserviceRoute.credential(authorization: request.authorization,
                                                          accessTokenParameter: request.queryValue("access_token"))
        else {
            appserviceState.withLock { $0.stats.requestsRefused += 1 }
            return Self.matrixError(401, "M_UNAUTHORIZED", "no hs_token was sent")
        }
        guard MatrixAppserviceRoute.tokensMatch(given, appservice.hsToken) else {
            appserviceState.withLock { $0.stats.requestsRefused += 1 }
            logger.warning("refused a request with a wrong hs_token", metadata: ["path": "\(MatrixClient.redacted(request.path))"])
            return Self.matrixError(403, "M_FORBIDDEN", "wrong hs_token")
        }
        switch route {
        case .transaction(let txnID):
            return await transaction(txnID, body: request.body)
        case .user(let userID):
            guard let persona = appservice.persona(forUser: userID) else {
                return Self.matrixError(404, "M_NOT_FOUND", "no persona has this user")
            }
            do {
                try await preparePersonaUser(persona)
                return Self.json(200, [:])
            } catch {
                logger.warning("could not create a persona's user on a query", metadata: ["user": "\(userID)", "error": "\(error)"])
                return Self.matrixError(500, "M_UNKNOWN", "could not create the user")
            }
        case .room:
            return Self.matrixError(404, "M_NOT_FOUND", "this bridge has no room aliases")
        case .ping:
            return Self.json(200, [:])
        case .unknown:
            return Self.matrixError(404, "M_UNRECOGNIZED", "unknown appservice endpoint")
        }
    }

    /// `PUT /transactions/{txnId}`: each transaction is handled once; a repeat gets 200 and nothing else.
    ///
    /// A transaction is known by its txnId *and* its events' IDs: Synapse numbers transactions afresh in some
    /// restarts (observed: `transactions/1` again after a restart on the same database), so a txnId alone would
    /// drop new events as a "repeat", while a true retry carries the same events.
    private func transaction(_ txnID: String, body: [UInt8]) async -> HTTPServerResponse {
        guard let json = try? MatrixJSON.parse(body), let list = json["events"]?.array else {
            appserviceState.withLock { $0.stats.badBodies += 1 }
            return Self.matrixError(400, "M_NOT_JSON", "the body is not a transaction: a JSON object with an events array")
        }
        let eventIDs = list.map { $0["event_id"]?.string ?? "" }.joined(separator: "\u{0}")
        let identity = txnID + "#" + MatrixTransactionID.digest(eventIDs.isEmpty && !list.isEmpty ? String(decoding: body, as: UTF8.self) : eventIDs)
        switch appserviceState.withLock({ $0.ledger.begin(identity) }) {
        case .alreadyHandled:
            logger.debug("a repeated transaction", metadata: ["txn": "\(txnID)"])
            appserviceState.withLock { $0.stats.transactionsRepeated += 1 }
            return Self.json(200, [:])
        case .inProgress:
            return Self.matrixError(503, "M_UNKNOWN", "this transaction is being handled; retry")
        case .handle:
            break
        }
        let key = statePrefix + "txn:" + identity
        do {
            if try await store.state(for: key) != nil {
                appserviceState.withLock {
                    $0.ledger.finished(identity)
                    $0.stats.transactionsRepeated += 1
                }
                return Self.json(200, [:])
            }
        } catch {
            appserviceState.withLock { $0.ledger.failed(identity) }
            logger.error("could not read the transaction ledger", metadata: ["error": "\(error)"])
            return Self.matrixError(500, "M_UNKNOWN", "storage unavailable")
        }
        var pushed: [(room: String, event: MatrixEvent)] = []
        for item in list {
            guard let room = item["room_id"]?.string, let event = MatrixEvent(json: item) else { continue }
            pushed.append((room, event))
        }
        let delivered = await deliverPushed(pushed)
        for (room, event) in pushed { await membershipChanged(event, in: room) }
        do {
            try await store.setState("1", for: key)
        } catch {
            // Delivered but not recorded: a retry delivers again, and the answered-once store keeps replies single.
            logger.error("could not record a handled transaction", metadata: ["error": "\(error)"])
        }
        logger.debug("handled a transaction", metadata: ["txn": "\(txnID)", "events": "\(pushed.count)", "delivered": "\(delivered)"])
        appserviceState.withLock {
            $0.ledger.finished(identity)
            $0.stats.transactionsHandled += 1
            $0.stats.eventsDelivered += delivered
        }
        return Self.json(200, [:])
    }

    /// Our users' invites, joins and removals.
    private func membershipChanged(_ event: MatrixEvent, in room: String) async {
        guard event.type == "m.room.member", let appservice = configuration.appservice, let user = event.stateKey,
            user == appservice.senderUserID || appservice.inNamespace(user)
        else { return }
        let membership = event.content["membership"]?.string
        let asUser: String? = user == appservice.senderUserID ? nil : user
        switch membership {
        case "invite":
            let inviter = event.sender
            // A persona the bridge brought in itself has joined already (the invite reaches us afterwards).
            if inviter == appservice.senderUserID, appserviceState.withLock({ $0.joined.contains(user + "\u{0}" + room) }) { return }
            // An invite from our own sender user (bringing a persona in) is always taken.
            let known = asUser == nil || appservice.persona(forUser: user) != nil
            do {
                if known && (inviter == appservice.senderUserID || configuration.allowsInvite(from: inviter)) {
                    try await client.join(room, asUser: asUser)
                    await rememberJoined(user, room, true)
                    logger.info("joined on invite", metadata: ["channel": "\(room)", "user": "\(user)", "inviter": "\(inviter ?? "?")"])
                    // The bridge's user is in: the personas the config binds here follow it.
                    if asUser == nil { await joinBoundPersonas(room) }
                } else {
                    try await client.leave(room, asUser: asUser)
                    logger.notice("declined an invite", metadata: ["channel": "\(room)", "user": "\(user)", "inviter": "\(inviter ?? "?")"])
                }
            } catch {
                logger.warning("could not answer an invite", metadata: ["channel": "\(room)", "error": "\(error)"])
            }
        case "join":
            await rememberJoined(user, room, true)
        case "leave", "ban":
            await rememberJoined(user, room, false)
        default:
            break
        }
    }

    private func rememberJoined(_ user: String, _ room: String, _ joined: Bool) async {
        let pair = user + "\u{0}" + room
        let changed = appserviceState.withLock { s in joined ? s.joined.insert(pair).inserted : s.joined.remove(pair) != nil }
        guard changed else { return }
        do {
            try await store.setState(joined ? "1" : nil, for: statePrefix + "joined:" + user + ":" + room)
        } catch {
            logger.warning("could not record a room membership", metadata: ["error": "\(error)"])
        }
    }

    /// Core handled an event: a persona no longer bound in a room (after `persona set/remove/off`) leaves it.
    func appserviceHandled(_ event: PlatformEvent) async {
        guard case .messageCreated(let message) = event, !message.isOwnMessage, let appservice = configuration.appservice else { return }
        let room = message.channel.channelID
        let members = appserviceState.withLock { s in
            appservice.personas.filter { s.joined.contains(appservice.userID(forPersona: $0.name) + "\u{0}" + room) }
        }
        guard !members.isEmpty else { return }
        let key = ChannelKey(platform: message.channel.platform, serverID: message.channel.serverID, channelID: room)
        guard let settings = try? await store.channelSettings(for: key), let bound = settings.personas ?? (settings.personaOff ? [] : nil)
        else { return }
        let active = settings.personaOff ? [] : bound
        for persona in members where !active.contains(persona.name) {
            let user = appservice.userID(forPersona: persona.name)
            do {
                try await client.leave(room, asUser: user)
                await rememberJoined(user, room, false)
                logger.info("a persona no longer bound here left the room", metadata: ["channel": "\(room)", "persona": "\(persona.name)"])
            } catch {
                logger.warning("a persona could not leave a room", metadata: ["channel": "\(room)", "error": "\(error)"])
            }
        }
    }

    // MARK: Persona users

    /// The user a reply goes out as: `nil` in client mode or without a persona; in appservice mode the
    /// persona's user, registered, with its profile, and joined to `room`.
    func appserviceSender(for identity: PersonaIdentity?, in room: String) async throws -> String? {
        guard let appservice = configuration.appservice, let identity else { return nil }
        let persona = appservice.persona(forUser: appservice.userID(forPersona: identity.name)) ?? identity
        let user = appservice.userID(forPersona: persona.name)
        if !appserviceState.withLock({ $0.readyUsers.contains(user) }) { try await preparePersonaUser(persona) }
        try await joinPersona(user, room)
        return user
    }

    /// Registers the persona's user if needed and sets its display name and avatar when they changed.
    func preparePersonaUser(_ persona: PersonaIdentity) async throws {
        guard let appservice = configuration.appservice else { return }
        let user = appservice.userID(forPersona: persona.name)
        let localpart = String(user.dropFirst().prefix { $0 != ":" })
        let profileKey = statePrefix + "user:" + localpart
        let stored = try await store.state(for: profileKey)
        if stored == nil {
            if try await client.registerAppserviceUser(localpart: localpart) {
                appserviceState.withLock { $0.stats.usersRegistered += 1 }
                logger.info("registered a persona's user", metadata: ["user": "\(user)"])
            }
        }
        if stored != persona.displayName {
            try await client.setDisplayName(persona.displayName, of: user, asUser: user)
            try await store.setState(persona.displayName, for: profileKey)
        }
        if let source = persona.avatarURL {
            do {
                try await updateAvatar(of: user, localpart: localpart, from: source)
            } catch {
                logger.warning("could not set a persona's avatar", metadata: ["user": "\(user)", "error": "\(error)"])
            }
        }
        appserviceState.withLock { _ = $0.readyUsers.insert(user) }
    }

    /// Uploads the avatar when its bytes changed since the last upload (by SHA-256, stored).
    private func updateAvatar(of user: String, localpart: String, from source: String) async throws {
        let bytes = try await avatarBytes(source)
        let hash = Self.sha256Hex(bytes)
        let key = statePrefix + "avatar:" + localpart
        guard try await store.state(for: key) != hash else { return }
        let type = Self.imageType(bytes)
        let uri = try await client.uploadMedia(bytes, contentType: type, filename: localpart + (type == "image/png" ? ".png" : ".img"),
                                               asUser: user)
        try await client.setAvatarURL(uri, of: user, asUser: user)
        try await store.setState(hash, for: key)
        appserviceState.withLock { $0.stats.avatarUploads += 1 }
        logger.info("uploaded a persona's avatar", metadata: ["user": "\(user)"])
    }

    /// An avatar image from an http(s) URL, a `file://` URL or a path.
    private func avatarBytes(_ source: String) async throws -> [UInt8] {
        if source.hasPrefix("http://") || source.hasPrefix("https://") {
            let response = try await client.http.execute(HTTPRequest(method: .get, url: source))
            let body = try await response.body.collect(upTo: 8 * 1024 * 1024)
            guard (200..<300).contains(response.status) else {
                throw MatrixError(.transport, "avatar download answered HTTP \(response.status)")
            }
            return body
        }
        let path = source.hasPrefix("file://") ? String(source.dropFirst("file://".count)) : source
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MatrixError(.transport, "cannot read the avatar file \(path)")
        }
        return Array(data)
    }

    /// The personas `[[channels]]` binds to `room` join it (failures are logged: they retry when they speak).
    private func joinBoundPersonas(_ room: String) async {
        guard let appservice = configuration.appservice, let names = appservice.boundRooms[room] else { return }
        for name in names {
            guard let persona = appservice.persona(forUser: appservice.userID(forPersona: name)) else { continue }
            do {
                _ = try await appserviceSender(for: persona, in: room)
            } catch {
                logger.warning("a bound persona could not join its room yet", metadata: ["channel": "\(room)", "persona": "\(name)",
                                                                                         "error": "\(error)"])
            }
        }
    }

    /// Joins `user` to `room`: directly, or after an invite from the sender user (which must be in the room).
    private func joinPersona(_ user: String, _ room: String) async throws {
        let pair = user + "\u{0}" + room
        if appserviceState.withLock({ $0.joined.contains(pair) }) { return }
        if try await store.state(for: statePrefix + "joined:" + user + ":" + room) != nil {
            appserviceState.withLock { _ = $0.joined.insert(pair) }
            return
        }
        let refused: Bool
        do {
            try await client.join(room, asUser: user)
            refused = false
        } catch {
            guard error.status == 403 else { throw error }
            refused = true
        }
        if refused {
            // Not invited (a private room): the sender user, who is in the room, brings the persona in.
            try await client.invite(user, to: room, asUser: nil)
            try await client.join(room, asUser: user)
        }
        await rememberJoined(user, room, true)
        logger.info("a persona joined the room", metadata: ["channel": "\(room)", "user": "\(user)"])
    }

    // MARK: Helpers

    static func sha256Hex(_ bytes: [UInt8]) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        pb_sha256(bytes, bytes.count, &digest)
        return digest.map { String(format: "%02x", $0) }.joined()
    }

    static func imageType(_ bytes: [UInt8]) -> String {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "image/png" }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if bytes.starts(with: Array("GIF8".utf8)) { return "image/gif" }
        if bytes.count > 12, Array(bytes[8..<12]) == Array("WEBP".utf8) { return "image/webp" }
        return "application/octet-stream"
    }

    static func json(_ status: Int, _ body: MatrixJSON) -> HTTPServerResponse {
        HTTPServerResponse(status: status, contentType: "application/json", body: body.bytes)
    }

    static func matrixError(_ status: Int, _ errcode: String, _ message: String) -> HTTPServerResponse {
        json(status, ["errcode": .string(errcode), "error": .string(message)])
    }
}
