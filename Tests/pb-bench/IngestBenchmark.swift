import BridgeConfig
import BridgeCore
import Foundation
import HTTPTransport
import Logging
import ModelClient
import Observability
import PBTestSupport
import PlatformDiscord
import Storage
import Synchronization

/// End to end: the in-repo fake Discord floods MESSAGE_CREATE over zlib-stream into the real adapter, router and an
/// on-disk SQLite store; a mention follows and the clock stops when it reaches the model. The discord.py reference
/// bot (Tests/Servers/discordpy_reference.py, stores nothing) then takes the same flood from the same fake.
enum IngestBenchmark {
    static let token = "fake-bot-token"
    static let guild = "900000000000000100"
    static let bound = (301...305).map { "900000000000000\($0)" }
    /// A text channel no binding names, added to the fake's world before the bridge connects.
    static let unbound = "900000000000000306"
    /// The fake's thread in #general (bound): it has no binding of its own and goes by its parent's.
    static let thread = "900000000000000351"
    static let alice = "900000000000000403"

    static func run() async throws {
        // As `persona-bridge run` starts (before the bridge's threads).
        AllocatorTrimService.limitArenas()
        let count = Int(ProcessInfo.processInfo.environment["PB_INGEST_COUNT"] ?? "") ?? 100_000
        // A long heartbeat interval: the fake does not read while it compresses a flood ahead of time (a minute for
        // the 10,000-channel one), and a missed heartbeat ACK would make the bridge reconnect and lose the flood.
        let (server, port) = try await startPythonServer("discord_server.py", arguments: ["--heartbeat-ms", "300000"])
        defer { server.stop() }
        let control = IngestFakeControl(port: port)
        defer { control.http.shutdown() }
        let lounge: [String: any Sendable] = ["id": unbound, "type": 0, "guild_id": guild, "name": "lounge", "position": 6]
        try await control.post("guild", ["channels": [lounge]])

        let ours = try await personaBridge(control: control, port: port, count: count)
        // PB_INGEST_REFERENCE=0 leaves the reference out, e.g. to profile the bridge alone.
        let reference = ProcessInfo.processInfo.environment["PB_INGEST_REFERENCE"] == "0"
            ? 0 : try await discordPy(control: control, port: port, count: count)
        say(String(format: "ingest summary: persona-bridge %.0f events/s vs discord.py %.0f events/s (%.2fx), same fake, same run",
                   ours, reference, reference > 0 ? ours / reference : 0))
    }

    // MARK: persona-bridge

    static func personaBridge(control: IngestFakeControl, port: Int, count: Int) async throws -> Double {
        var logger = Logger(label: "pb-bench.ingest")
        logger.logLevel = .error
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pb-bench-ingest-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("bridge.sqlite").path
        let store = try await SQLiteStore.open(.file(path: path), logger: logger)
        let http = HTTPClient(logger: logger)
        defer { http.shutdown() }
        let configuration = DiscordPlatformConfiguration(
            token: token, apiBaseURL: "http://127.0.0.1:\(port)/api/v10", slashCommands: .off,
            boundChannels: bound.map { .init(channelID: $0, guildID: guild) })
        let platform = DiscordPlatform(configuration: configuration, http: http, store: store, clock: ContinuousClock(), logger: logger)
        let gateway = platform.gateway
        let model = StampingModel(clock: platform.clock) { gateway.stats.lastDispatchAt }
        let aria = Persona(name: "aria", displayName: "Aria", character: "Aria is a cheerful bard.")
        var routerConfiguration = RouterConfiguration(personas: [aria], bindings: bound.map { .init(platform: "discord", channelID: $0, personas: ["aria"]) },
                                                      defaultPersonas: ["aria"])
        if ProcessInfo.processInfo.environment["PB_INGEST_MEMORY"] == "0" { routerConfiguration.memory.enabled = false }
        let router = Router(
            configuration: routerConfiguration,
            model: model, store: store, platforms: [platform], logger: logger)
        // The bridge's services for the benchmark's lifetime (a benchmark, not product code), with the allocator
        // trim that `persona-bridge run` runs beside them.
        let services = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await platform.run() }
                group.addTask { try await router.run() }
                group.addTask { try await AllocatorTrimService().run() }
                try await group.next()
                group.cancelAll()
            }
        }
        let clock = ContinuousClock()
        let readyBy = clock.now + .seconds(30)
        while platform.gateway.stats.phase != .ready {
            guard clock.now < readyBy else { throw TestServerError("persona-bridge did not become ready") }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .seconds(2))
        let idle = ProcessStats.residentMB()
        say("persona-bridge: RSS idle (release, connected, \(bound.count) bound channels): \(idle) MB")

        var rates: [String: Double] = [:]
        // PB_INGEST_FLOODS picks the floods and their order (`bound,unbound,thread`, the default); one may repeat,
        // and the summary reports each kind's first.
        let floodChannels = ["bound": bound, "unbound": [unbound], "thread": [thread]]
        let floods = (ProcessInfo.processInfo.environment["PB_INGEST_FLOODS"] ?? "bound,unbound,thread").split(separator: ",")
        for flood in floods {
            let label = String(flood)
            guard let channels = floodChannels[label] else { throw TestServerError("unknown flood \(label) in PB_INGEST_FLOODS") }
            // From an idle bridge: the last flood's reply starts the scene-memory work (history read, summary
            // request, summary stored), which would otherwise run during this flood and count as its CPU.
            try await waitUntilIdle()
            let expectedRequests = model.mentions + 1
            // The fake compresses the flood first (untimed), then writes it at once: its Python zlib is not the limit.
            try await control.post("gateway/blast", ["count": count, "channel_ids": channels, "prepare": true])
            flushDisk()
            let started = clock.now
            let cpuBefore = ProcessStats.cpuSeconds()
            let blast = try await control.post("gateway/blast", ["send_prepared": true])
            let sentSeconds = blast["seconds"] as? Double ?? 0
            let mentionSent = clock.now
            try await control.post("inject/message", ["channel_id": channels[0], "content": StampingModel.mention,
                                                      "author_id": alice, "mention_bot": true])
            // Backing off to 100 ms: a 1 ms poll woke the measured process ~700 times per flood. Time and CPU are the
            // model's own stamps at the request, not when this wait notices it.
            try await eventually("the mention after the \(label) flood to reach the model", timeout: .seconds(600)) {
                model.mentions >= expectedRequests
            }
            let reached = model.lastRequest ?? clock.now
            let cpu = (model.lastCPU ?? ProcessStats.cpuSeconds()) - cpuBefore
            let seconds = ProcessStats.seconds(started.duration(to: reached))
            let rate = Double(count + 1) / seconds
            if rates[label] == nil { rates[label] = rate }
            // When the model is asked, the mention is the last dispatch that arrived (the echo of the reply comes later).
            let fromArrival = model.lastElapsed.flatMap { at in model.lastArrival.map { ProcessStats.milliseconds(at - $0) } } ?? -1
            say(String(format: "persona-bridge, %@ flood: %d MESSAGE_CREATE + 1 mention, %.0f events/s to the model request "
                           + "(the fake wrote them in %.2f s); mention → model %.1f ms after its frame arrived (%.1f ms after its inject call)",
                       label, count, rate, sentSeconds, fromArrival, ProcessStats.milliseconds(mentionSent.duration(to: reached))))
            say(String(format: "  CPU used by the bridge meanwhile: %.2f s in %.2f s (%.2f cores; %.1f µs per event)",
                       cpu, seconds, cpu / seconds, cpu * 1e6 / Double(count + 1)))
        }
        // Every message must be in history: the last channel's count after the recorder's batches settle.
        var stored = 0
        let settleBy = clock.now + .seconds(60)
        repeat {
            stored = 0
            for channel in bound + [unbound, thread] {
                stored += try await store.messageCount(in: ChannelKey(platform: "discord", serverID: guild, channelID: channel))
            }
            if stored >= floods.count * (count + 1) { break }
            try await Task.sleep(for: .milliseconds(50))
        } while clock.now < settleBy
        say("persona-bridge: \(stored) of \(floods.count * (count + 1)) messages (and the replies) in history on disk")
        say("persona-bridge: RSS right after the floods: \(ProcessStats.residentMB()) MB")
        try await Task.sleep(for: .seconds(5))
        say("persona-bridge: RSS 5 s after the floods: \(ProcessStats.residentMB()) MB")
        try await manyChannels(control: control, store: store, clock: clock)
        services.cancel()
        _ = await services.result
        try await store.close()
        return rates["bound"] ?? 0
    }

    /// Writes back what earlier work left dirty (untimed), so a flood does not pay for the one before it: the last
    /// flood's history (and the 10,000-channel one's, before the reference) was still being written back while the
    /// next ran, and runs of one build done back to back differed by up to 10 % from it alone.
    static func flushDisk() {
        sync()
    }

    /// Waits until the process has used under 5 ms of CPU in a quarter of a second (at most 30 s).
    static func waitUntilIdle() async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(30)
        while clock.now < deadline {
            let before = ProcessStats.cpuSeconds()
            try await Task.sleep(for: .milliseconds(250))
            if ProcessStats.cpuSeconds() - before < 0.005 { return }
        }
    }

    /// Memory with many channels: `PB_INGEST_CHANNELS` (10,000) guild channels no binding names, 100 messages
    /// each, round-robin, through the same adapter, router and store; RSS once all of it is on disk.
    static func manyChannels(control: IngestFakeControl, store: SQLiteStore, clock: ContinuousClock) async throws {
        let channelCount = Int(ProcessInfo.processInfo.environment["PB_INGEST_CHANNELS"] ?? "") ?? 10_000
        let perChannel = 100
        guard channelCount > 0 else { return }
        let channels = (0..<channelCount).map { "91" + String(repeating: "0", count: 16 - String($0).count) + String($0) }
        let total = channelCount * perChannel
        // Prepared in rounds of whole channel cycles: one call for a million frames outlasts the HTTP client's timeout.
        let perCall = max(1, 100_000 / channelCount) * channelCount
        var prepared = 0
        while prepared < total {
            let chunk = min(perCall, total - prepared)
            try await control.post("gateway/blast", ["count": chunk, "channel_ids": channels, "guild_id": guild, "prepare": true])
            prepared += chunk
        }
        let before = ProcessStats.residentMB()
        flushDisk()
        let started = clock.now
        try await control.post("gateway/blast", ["send_prepared": true])
        // Settled when the last channel of the round-robin holds its 100 messages.
        let last = ChannelKey(platform: "discord", serverID: guild, channelID: channels[channelCount - 1])
        let deadline = clock.now + .seconds(900)
        while try await store.messageCount(in: last) < perChannel {
            guard clock.now < deadline else { throw TestServerError("the \(channelCount)-channel flood did not settle") }
            try await Task.sleep(for: .milliseconds(20))
        }
        let seconds = ProcessStats.seconds(started.duration(to: clock.now))
        var sample = 0
        for channel in channels.prefix(10) {
            sample += try await store.messageCount(in: ChannelKey(platform: "discord", serverID: guild, channelID: channel))
        }
        say(String(format: "persona-bridge, %d channels × %d messages (%d, unbound, round-robin): %.0f events/s into history; "
                       + "first 10 channels hold %d messages; RSS %d MB before, %d MB after",
                   channelCount, perChannel, total, Double(total) / seconds, sample, before, ProcessStats.residentMB()))
        try await Task.sleep(for: .seconds(5))
        say("persona-bridge: RSS 5 s after the \(channelCount)-channel flood: \(ProcessStats.residentMB()) MB")
    }

    // MARK: discord.py

    static func discordPy(control: IngestFakeControl, port: Int, count: Int) async throws -> Double {
        let python = RepoPaths.root.appendingPathComponent(".venv-tools/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            say("discord.py reference: skipped, .venv-tools/bin/python is missing (run Deploy/scripts/setup.sh)")
            return 0
        }
        let bot = try TestServer(executable: python, arguments: [
            RepoPaths.servers.appendingPathComponent("discordpy_reference.py").path,
            "--api", "http://127.0.0.1:\(port)/api/v10", "--token", token,
        ])
        defer { bot.stop() }
        let ready = try await bot.waitForOutput("READY ", timeout: .seconds(60))
        try await Task.sleep(for: .seconds(2))
        if let line = ready.split(separator: "\n").first(where: { $0.hasPrefix("READY ") }), let kb = line.split(separator: " ").last {
            say("discord.py: RSS idle \((Int(kb) ?? 0) / 1024) MB (at READY)")
        }
        let clock = ContinuousClock()
        // Only the reference bot is connected now; the blast goes to it alone.
        try await control.post("gateway/blast", ["count": count, "channel_ids": bound, "prepare": true])
        flushDisk()
        let started = clock.now
        try await control.post("gateway/blast", ["send_prepared": true])
        try await control.post("inject/message", ["channel_id": bound[0], "content": "are you keeping up?",
                                                  "author_id": alice, "mention_bot": true])
        let output = try await bot.waitForOutput("MENTION ", timeout: .seconds(600))
        let seconds = ProcessStats.seconds(started.duration(to: clock.now))
        let rate = Double(count + 1) / seconds
        let rss = output.split(separator: "\n").last { $0.hasPrefix("RSS ") }.flatMap { Int($0.dropFirst(4)) } ?? 0
        say(String(format: "discord.py %@ (stores nothing): %.0f events/s to on_message of the mention; RSS after the flood %d MB",
                   discordVersion(python), rate, rss / 1024))
        return rate
    }

    static func discordVersion(_ python: String) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", "import discord; print(discord.__version__)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        do { try process.run() } catch { return "?" }
        process.waitUntilExit()
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// The fake's control API.
struct IngestFakeControl: Sendable {
    let port: Int
    let http = HTTPClient(logger: Logger(label: "pb-bench.fake-control"))

    @discardableResult
    func post(_ path: String, _ body: [String: any Sendable]) async throws -> [String: Any] {
        let data = try JSONSerialization.data(withJSONObject: body)
        let response = try await http.execute(HTTPRequest(method: .post, url: "http://127.0.0.1:\(port)/_control/\(path)",
                                                          headers: ["Content-Type": "application/json"], body: Array(data)))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        guard response.status == 200 else {
            throw TestServerError("control \(path) returned \(response.status): \(String(decoding: bytes, as: UTF8.self))")
        }
        return (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
    }
}

/// Answers every request with one short line and stamps when a request answering the benchmark's mention arrived
/// (the scene's memory summaries, asked once a reply drops history, reach the model too and are not counted).
final class StampingModel: ChatModel, Sendable {
    static let mention = "are you keeping up?"
    private let state = Mutex<(count: Int, last: ContinuousClock.Instant?, lastElapsed: Duration?, lastArrival: Duration?,
                               lastCPU: Double?)>((0, nil, nil, nil, nil))
    private let clock: ElapsedClock
    private let arrival: @Sendable () -> Duration?

    /// `clock` is the adapter's, so a request can be set against a payload's arrival; `arrival` reads when the
    /// adapter's last payload arrived.
    init(clock: ElapsedClock, arrival: @escaping @Sendable () -> Duration?) {
        self.clock = clock
        self.arrival = arrival
    }

    var mentions: Int { state.withLock { $0.count } }
    var lastRequest: ContinuousClock.Instant? { state.withLock { $0.last } }
    /// The process's CPU seconds when the last counted request came.
    var lastCPU: Double? { state.withLock { $0.lastCPU } }
    var lastElapsed: Duration? { state.withLock { $0.lastElapsed } }
    /// When the last payload had arrived as the last counted request came.
    var lastArrival: Duration? { state.withLock { $0.lastArrival } }

    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ModelEvent, any Error> {
        let now = ContinuousClock.now
        let elapsed = clock.now
        let arrived = arrival()
        let cpu = ProcessStats.cpuSeconds()
        let memoryWork = ["Transcript", "Memory"].contains(request.messages.last?.name ?? "")
        if !memoryWork { state.withLock { s in
            s.count += 1
            s.last = now
            s.lastElapsed = elapsed
            s.lastArrival = arrived
            s.lastCPU = cpu
        } }
        return AsyncThrowingStream { continuation in
            continuation.yield(.delta("Keeping up."))
            continuation.yield(.finish(.stop))
            continuation.finish()
        }
    }
}
