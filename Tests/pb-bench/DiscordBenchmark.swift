import BridgeCore
import Foundation
import HTTPTransport
import Logging
import PlatformDiscord
import Storage

/// Discord ingest: MESSAGE_CREATE frames through zlib-stream inflate, payload decoding and conversion into
/// Core events, on one task (one core).
enum DiscordBenchmark {
    static func run() async throws {
        let count = 50_000
        let deflater = try ZlibStreamDeflater()
        var frames: [[UInt8]] = []
        frames.reserveCapacity(count + 1)
        frames.append(deflater.compress(Array(ready.utf8)))
        for i in 0..<count { frames.append(deflater.compress(Array(messageCreate(seq: i + 2, id: 1_300_000_000_000_000_000 + i).utf8))) }
        let bytes = frames.reduce(0) { $0 + $1.count }

        var logger = Logger(label: "pb-bench.discord")
        logger.logLevel = .critical
        let http = HTTPClient(logger: logger)
        defer { http.shutdown() }
        let platform = DiscordPlatform(
            configuration: DiscordPlatformConfiguration(token: "bench", slashCommands: .off), http: http,
            store: try SQLiteStore.inMemory(logger: logger), logger: logger)

        let clock = ContinuousClock()
        let start = clock.now
        // The adapter's event queue is bounded: read it while feeding.
        async let counted: (Int, Int) = {
            var received = 0
            var mentions = 0
            for await event in platform.events {
                if case .messageCreated(let message) = event {
                    received += 1
                    if message.mentionsUs { mentions += 1 }
                }
                if received == count { break }
            }
            return (received, mentions)
        }()
        let inflater = try ZlibStreamInflater()
        for frame in frames {
            guard let payload = try inflater.feed(frame) else { continue }
            await platform.ingest(try GatewayPayload.decode(payload))
        }
        let (received, mentions) = await counted
        let elapsed = start.duration(to: clock.now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        say(String(format: "Discord MESSAGE_CREATE ingest (zlib-stream inflate + decode + Core event), %d events, %.1f MB compressed: %.0f events/s (one task)",
                   received, Double(bytes) / 1e6, Double(received) / seconds))
        guard received == count, mentions == count / 2 else {
            FileHandle.standardError.write(Data("pb-bench: discord benchmark lost events (\(received), \(mentions) mentions)\n".utf8))
            exit(1)
        }
    }

    static let ready = """
        {"op":0,"s":1,"t":"READY","d":{"v":10,"session_id":"bench","resume_gateway_url":"wss://gateway.example","user":{"id":"900000000000000001","username":"personabridge","bot":true},"guilds":[{"id":"900000000000000100","unavailable":true}],"application":{"id":"900000000000000001"}}}
        """

    static func messageCreate(seq: Int, id: Int) -> String {
        let mention = seq % 2 == 0
        let content = mention ? "<@900000000000000001> the caravan reached the river crossing at dusk, what now? (\(seq))"
            : "I think we should camp by the old mill and wait for the fog to lift before crossing. (\(seq))"
        let mentions = mention ? #"[{"id":"900000000000000001","username":"personabridge","bot":true}]"# : "[]"
        return """
            {"op":0,"s":\(seq),"t":"MESSAGE_CREATE","d":{"id":"\(id)","type":0,"channel_id":"90000000000000030\(seq % 5 + 1)","guild_id":"900000000000000100","author":{"id":"90000000000000040\(seq % 3 + 3)","username":"traveller\(seq % 3)","global_name":"Traveller \(seq % 3)","avatar":null,"discriminator":"0"},"member":{"roles":["900000000000000201"],"nick":null,"joined_at":"2024-01-01T00:00:00.000000+00:00","deaf":false,"mute":false},"content":"\(content)","timestamp":"2026-11-24T12:00:00.000000+00:00","edited_timestamp":null,"tts":false,"mention_everyone":false,"mentions":\(mentions),"mention_roles":[],"attachments":[],"embeds":[],"pinned":false,"flags":0,"nonce":"\(id)"}}
            """
    }
}
