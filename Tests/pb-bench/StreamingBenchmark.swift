import BridgeConfig
import BridgeCore
import Foundation
import HTTPTransport
import Logging
import ModelClient
import PBTestSupport
import PlatformDiscord
import Storage
import Synchronization

/// Streaming lateness against the fake Discord's fixed 5-per-5-s message windows, through the real adapter and
/// router: the time from the model's last token (50 tokens/s) to the fake acknowledging the final text, and the
/// share of each window's slots that was used.
enum StreamingBenchmark {
    static let channels = (301...305).map { "900000000000000\($0)" }

    static func run() async throws {
        let (server, port) = try await startPythonServer("discord_server.py")
        defer { server.stop() }
        let control = FakeControl(port: port)
        defer { control.http.shutdown() }
        var logger = Logger(label: "pb-bench.streaming")
        logger.logLevel = .critical
        let model = BenchModel(characters: 600)
        let store = try SQLiteStore.inMemory(logger: logger)
        let platform = DiscordPlatform(
            configuration: DiscordPlatformConfiguration(
                token: "fake-bot-token", apiBaseURL: "http://127.0.0.1:\(port)/api/v10",
                gateway: DiscordGatewayConfiguration(backoffBase: .milliseconds(50), backoffCap: .seconds(1),
                                                     identifySpacing: .milliseconds(10)),
                slashCommands: .off),
            http: control.http, store: store, logger: logger)
        let aria = Persona(name: "aria", displayName: "Aria", character: "Aria is a cheerful bard.")
        let router = Router(configuration: RouterConfiguration(personas: [aria], defaultPersonas: ["aria"]),
                            model: model, store: store, platforms: [platform], clock: ContinuousClock(), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await platform.run() }
            group.addTask { try await router.run() }
            let deadline = ContinuousClock.now + .seconds(60)
            while platform.gateway.stats.phase != .ready {
                guard ContinuousClock.now < deadline else { throw TestServerError("the fake Discord never became ready") }
                try await Task.sleep(for: .milliseconds(20))
            }
            try await scenarios(control: control, model: model)
            group.cancelAll()
        }
    }

    static func scenarios(control: FakeControl, model: BenchModel) async throws {
        // One stream at a time, 10 times.
        var lateness: [Double] = []
        var share = SlotShare()
        for round in 0..<10 {
            try await control.clear()
            let start = model.count
            try await control.inject("single \(round)", channel: channels[round % channels.count])
            try await model.waitFinished(start + 1, control: control, channels: channels)
            let log = try await control.requests()
            lateness += model.lateness(from: start, log: log)
            share.add(try await control.buckets())
        }
        report("one stream (600 characters)", lateness, share: share, goal: "p99 ≤ 1.2 s")

        // Three streams at once in one channel, 5 rounds.
        lateness = []
        share = SlotShare()
        for round in 0..<5 {
            // Each round starts from idle channels: the previous round's windows have run out. (The benchmark's
            // scenario timing, the fake's 5-s windows; benchmarks do not link the tests' polling helper.)
            try await Task.sleep(for: .milliseconds(5_500))
            try await control.clear()
            let start = model.count
            for index in 0..<3 { try await control.inject("trio \(round).\(index)", channel: channels[round % channels.count]) }
            try await model.waitFinished(start + 3, control: control, channels: channels)
            lateness += model.lateness(from: start, log: try await control.requests())
            share.add(try await control.buckets())
        }
        report("3 streams in one channel", lateness, share: share, goal: "p99 ≤ 2.5 s")

        // Fifteen streams in five channels, 2 rounds.
        lateness = []
        share = SlotShare()
        var tooMany = 0
        var complete = 0
        for round in 0..<2 {
            // Scenario timing: the previous round's 5-s windows run out first.
            try await Task.sleep(for: .milliseconds(5_500))
            try await control.clear()
            let start = model.count
            for index in 0..<3 {
                for channel in channels { try await control.inject("crowd \(round).\(index)", channel: channel) }
            }
            try await model.waitFinished(start + 15, control: control, channels: channels)
            let log = try await control.requests()
            let late = model.lateness(from: start, log: log)
            lateness += late
            complete += late.count
            tooMany += log.filter { $0["status"] as? Int == 429 }.count
            share.add(try await control.buckets())
        }
        report("15 streams in 5 channels", lateness, share: share, goal: "p99 ≤ 2.5 s, 0 × 429, 15/15 complete",
               extra: String(format: "%d × 429, %d/30 complete", tooMany, complete))

        // Five triggers 5 s apart in one channel: trigger → first message. (Scenario timing, as above.)
        try await Task.sleep(for: .milliseconds(5_500))
        try await control.clear()
        let start = model.count
        var triggers: [(id: String, at: Double)] = []
        for index in 0..<5 {
            if index > 0 { try await Task.sleep(for: .seconds(5)) }
            let at = Date().timeIntervalSince1970
            triggers.append((try await control.inject("paced \(index)", channel: channels[0]), at))
        }
        try await model.waitFinished(start + 5, control: control, channels: channels)
        let log = try await control.requests()
        let starts = triggers.compactMap { trigger -> Double? in
            guard let created = log.first(where: {
                $0["method"] as? String == "POST" && $0["status"] as? Int == 200
                    && (($0["body"] as? [String: Any])?["message_reference"] as? [String: Any])?["message_id"] as? String == trigger.id
            })?["time"] as? Double else { return nil }
            return created - trigger.at
        }
        share = SlotShare()
        share.add(try await control.buckets())
        say(String(format: "5 triggers 5 s apart, one channel: trigger → first message max %.3f s, p50 %.3f s (%d/5); final lateness p99 %.3f s; slot use %.0f %% (goal: each ≤ 1 s)",
                   starts.max() ?? .nan, percentile(starts, 0.5), starts.count,
                   percentile(model.lateness(from: start, log: log), 0.99), share.percent))
    }

    static func report(_ name: String, _ values: [Double], share: SlotShare, goal: String, extra: String = "") {
        say(String(format: "%@: last token → final acknowledged p50 %.3f s, p99 %.3f s (n=%d); slot use %.0f %%%@ (goal: %@)",
                   name, percentile(values, 0.5), percentile(values, 0.99), values.count, share.percent,
                   extra.isEmpty ? "" : "; " + extra, goal))
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
    }

    /// Accepted requests over the slots of the windows they opened, in the channels' message buckets.
    struct SlotShare {
        var used = 0
        var slots = 0
        var percent: Double { slots == 0 ? .nan : 100 * Double(used) / Double(slots) }

        mutating func add(_ buckets: [[String: Any]]) {
            for bucket in buckets where bucket["route"] as? String == "messages" {
                used += bucket["accepted"] as? Int ?? 0
                slots += (bucket["limit"] as? Int ?? 0) * (bucket["windows"] as? Int ?? 0)
            }
        }
    }
}

/// The fake Discord's control API.
struct FakeControl {
    let port: Int
    let http = HTTPClient()

    func call(_ method: HTTPMethod, _ path: String, _ body: [String: Any]? = nil) async throws -> Any? {
        let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        let response = try await http.execute(HTTPRequest(
            method: method, url: "http://127.0.0.1:\(port)/_control/\(path)", headers: ["Content-Type": "application/json"],
            body: data.map { Array($0) }))
        let bytes = try await response.body.collect(upTo: 256 << 20)
        return try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    }

    func clear() async throws { _ = try await call(.post, "clear", [:]) }

    @discardableResult
    func inject(_ text: String, channel: String) async throws -> String {
        let result = try await call(.post, "inject/message", ["channel_id": channel, "content": text,
                                                              "author_id": "900000000000000403", "mention_bot": true])
        return ((result as? [String: Any])?["message"] as? [String: Any])?["id"] as? String ?? ""
    }

    func requests() async throws -> [[String: Any]] { try await call(.get, "requests") as? [[String: Any]] ?? [] }

    func buckets() async throws -> [[String: Any]] { try await call(.get, "buckets") as? [[String: Any]] ?? [] }

    func contents(in channel: String) async throws -> Set<String> {
        let messages = try await call(.get, "messages?channel_id=\(channel)") as? [[String: Any]] ?? []
        return Set(messages.compactMap { $0["content"] as? String })
    }
}

/// 4-character tokens at 50 tokens/s; every reply starts with its own number and records its last token's time.
final class BenchModel: ChatModel, Sendable {
    struct Reply: Sendable {
        var text: String
        var lastToken: Double?
    }

    let characters: Int
    private let replies = Mutex<[Reply]>([])

    init(characters: Int) {
        self.characters = characters
    }

    var count: Int { replies.withLock { $0.count } }

    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ModelEvent, Error> {
        let (index, text) = replies.withLock { replies -> (Int, String) in
            var text = "[r\(replies.count + 1)] "
            while text.count < characters { text += "The caravan rolls on past the mill, lanterns swinging in the fog. " }
            text = String(text.prefix(characters))
            replies.append(Reply(text: text))
            return (replies.count - 1, text)
        }
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: ModelEvent.self, throwing: Error.self)
        // The model runs beside the bridge like a remote service would; the stream's end cancels it.
        let task = Task {
            let clock = ContinuousClock()
            var next = clock.now
            var rest = Substring(text)
            while !rest.isEmpty {
                // The model's token pacing (what the fake models).
                try? await clock.sleep(until: next)
                next += .milliseconds(20)
                if rest.count <= 4 { self.replies.withLock { $0[index].lastToken = Date().timeIntervalSince1970 } }
                continuation.yield(.delta(String(rest.prefix(4))))
                rest = rest.dropFirst(4)
            }
            continuation.yield(.finish(.stop))
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// Waits until `count` replies exist and every one's final text is on the fake (at most 2 minutes).
    func waitFinished(_ count: Int, control: FakeControl, channels: [String]) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let replies = self.replies.withLock { $0 }
            if replies.count >= count {
                var contents = Set<String>()
                for channel in channels { contents.formUnion(try await control.contents(in: channel)) }
                if replies.allSatisfy({ contents.contains($0.text) }) { return }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestServerError("replies did not finish within 2 minutes")
    }

    /// Seconds from last token to the acknowledged final text, for replies from index `start` on.
    func lateness(from start: Int, log: [[String: Any]]) -> [Double] {
        var acked: [String: Double] = [:]
        for request in log where request["status"] as? Int == 200 {
            guard let content = (request["body"] as? [String: Any])?["content"] as? String, let time = request["time"] as? Double,
                acked[content] == nil
            else { continue }
            acked[content] = time
        }
        return replies.withLock { Array($0[start...]) }.compactMap { reply in
            guard let last = reply.lastToken, let time = acked[reply.text] else { return nil }
            return time - last
        }
    }
}
