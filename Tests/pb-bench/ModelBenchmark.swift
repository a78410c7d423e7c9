import Foundation
import HTTPTransport
import Logging
import ModelClient
import PBTestSupport

/// Model-client figures: SSE parse + delta decode rate, and many concurrent streams from the fake server.
enum ModelBenchmark {
    static func run() async throws {
        parseThroughput()
        try await concurrentStreams(Int(ProcessInfo.processInfo.environment["PB_BENCH_STREAMS"] ?? "") ?? 1000)
    }

    /// OpenRouter-shaped chunks, fed in 4 KiB pieces as they would come off the socket.
    static func parseThroughput() {
        let line =
            #"data: {"id":"gen-1732000000-abcdef","object":"chat.completion.chunk","created":1732000000,"model":"minimax/minimax-m2-her","provider":"Minimax","choices":[{"index":0,"delta":{"role":"assistant","content":" word"},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}"#
            + "\n\n"
        let events = 200_000
        var text = ": OPENROUTER PROCESSING\n\n" + String(repeating: line, count: events)
        text += #"data: {"choices":[{"delta":{"content":""},"finish_reason":"stop"}]}"# + "\n\ndata: [DONE]\n\n"
        let bytes = Array(text.utf8)
        let pieces = stride(from: 0, to: bytes.count, by: 4096).map { bytes[$0..<min($0 + 4096, bytes.count)] }
        var best = 0.0
        for _ in 1...3 {
            let start = ContinuousClock.now
            var decoder = ModelStreamDecoder()
            var deltas = 0
            for piece in pieces {
                for action in decoder.feed(piece) {
                    if case .emit(.delta) = action { deltas += 1 }
                }
            }
            precondition(deltas == events, "expected \(events) deltas, got \(deltas)")
            best = max(best, Double(deltas) / ProcessStats.seconds(ContinuousClock.now - start))
        }
        say("SSE parse + delta JSON decode: \(Int(best)) events/s (one core, best of 3)")
    }

    /// `streams` concurrent replies of 100 tokens at 50 tokens/s each; reports completeness and client CPU.
    static func concurrentStreams(_ streams: Int) async throws {
        let tokens = 100
        let (server, port) = try await startPythonServer("model_server.py")
        defer { server.stop() }
        let http = HTTPClient()
        defer { http.shutdown() }
        let spec = #"{"tokens": [\#((0..<tokens).map { "\"w\($0) \"" }.joined(separator: ","))], "token_interval": 0.02, "keepalives": 0}"#
        let script = #"{"replies": [\#(Array(repeating: spec, count: streams).joined(separator: ","))]}"#
        let scripted = try await http.execute(
            HTTPRequest(
                method: .post, url: "http://127.0.0.1:\(port)/_control/script",
                headers: ["Content-Type": "application/json"], body: Array(script.utf8)))
        _ = try await scripted.body.collect(upTo: 1 << 20)
        let client = ModelSession(
            configuration: ModelClientConfiguration(
                provider: .openrouter, baseURL: "http://127.0.0.1:\(port)/api/v1", apiKey: APIKey("bench"),
                connectTimeout: .seconds(60)),
            httpClient: http, logger: Logger(label: "pb-bench"))
        let cpuBefore = ProcessStats.cpuSeconds()
        let start = ContinuousClock.now
        let complete = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<streams {
                group.addTask {
                    var deltas = 0
                    do {
                        for try await event in client.stream(ChatRequest(messages: [ChatMessage(role: .user, content: "go")])) {
                            if case .delta = event { deltas += 1 }
                        }
                    } catch {
                        return false
                    }
                    return deltas == tokens
                }
            }
            var count = 0
            for await ok in group where ok { count += 1 }
            return count
        }
        let wall = ProcessStats.seconds(ContinuousClock.now - start)
        let cpu = ProcessStats.cpuSeconds() - cpuBefore
        say(
            "\(streams) concurrent streams x \(tokens) tokens at 50 tokens/s: \(complete)/\(streams) complete in "
                + String(format: "%.1f s wall; client CPU %.2f s = %.2f cores", wall, cpu, cpu / wall))
    }
}
