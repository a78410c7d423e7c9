import Foundation
import HTTPTransport
import Logging
import PBTestSupport
import Testing

@testable import ModelClient

/// Measurements, not tests: they print figures and assert only correctness. Run with
/// `PB_BENCH=1 swift test -c release --filter ModelClientBenchmarks` (debug builds are several times slower).
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["PB_BENCH"] != nil))
struct ModelClientBenchmarks {
    @Test func sseParseAndDeltaDecodeThroughput() {
        let line =
            #"data: {"id":"gen-1732000000-abcdef","object":"chat.completion.chunk","created":1732000000,"model":"minimax/minimax-m2-her","provider":"Minimax","choices":[{"index":0,"delta":{"role":"assistant","content":" word"},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}"#
            + "\n\n"
        let events = 200_000
        var text = ": OPENROUTER PROCESSING\n\n" + String(repeating: line, count: events)
        text += #"data: {"choices":[{"delta":{"content":""},"finish_reason":"stop"}]}"# + "\n\ndata: [DONE]\n\n"
        let bytes = Array(text.utf8)
        let pieces = stride(from: 0, to: bytes.count, by: 4096).map { bytes[$0..<min($0 + 4096, bytes.count)] }
        for round in 1...3 {
            let start = ContinuousClock.now
            var decoder = ModelStreamDecoder()
            var deltas = 0
            var completed = false
            for piece in pieces {
                for action in decoder.feed(piece) {
                    if case .emit(.delta) = action { deltas += 1 }
                    if action == .complete { completed = true }
                }
            }
            let seconds = Self.seconds(ContinuousClock.now - start)
            #expect(deltas == events)
            #expect(completed)
            print("BENCH round \(round): SSE parse + delta decode: \(Int(Double(deltas) / seconds)) events/s (\(deltas) events, \(bytes.count) bytes in \(String(format: "%.3f", seconds)) s)")
        }
    }

    @Test func thousandConcurrentStreamsAtFiftyTokensPerSecond() async throws {
        let streams = Int(ProcessInfo.processInfo.environment["PB_BENCH_STREAMS"] ?? "") ?? 1000
        let tokens = 100
        let fake = try await FakeModelServer.start()
        let spec: [String: Any] = ["tokens": (0..<tokens).map { "w\($0) " }, "token_interval": 0.02, "keepalives": 0]
        try await fake.script(Array(repeating: spec, count: streams))
        let http = HTTPClient()
        defer { http.shutdown() }
        let client = fake.client(httpClient: http) { $0.connectTimeout = .seconds(60) }
        let cpuBefore = Self.cpuSeconds()
        let start = ContinuousClock.now
        let results = await withTaskGroup(of: (Int, ModelError?).self) { group in
            for _ in 0..<streams {
                group.addTask {
                    let (events, error) = await collect(
                        client.stream(ChatRequest(messages: [ChatMessage(role: .user, content: "go")])))
                    return (events.deltas.count, error)
                }
            }
            var all: [(Int, ModelError?)] = []
            for await result in group { all.append(result) }
            return all
        }
        let wall = Self.seconds(ContinuousClock.now - start)
        let cpu = Self.cpuSeconds() - cpuBefore
        let complete = results.filter { $0.0 == tokens && $0.1 == nil }.count
        #expect(complete == streams, "errors: \(results.compactMap(\.1).prefix(3))")
        print("BENCH \(streams) streams x \(tokens) tokens at 50 tokens/s: \(complete) complete in \(String(format: "%.2f", wall)) s wall, client CPU \(String(format: "%.2f", cpu)) s = \(String(format: "%.2f", cpu / wall)) cores")
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
