import BridgeConfig
import BridgeCore
import Foundation

/// Core figures: prompt-cache reuse, context assembly time, token-to-edit latency.
enum CoreBenchmark {
    static func run() async {
        let cache = CacheSimulation.run()
        say(
            "Prompt prefix reuse over \(cache.requests) requests (5 speakers, \(cache.trims) trims): "
                + String(format: "%.1f%%", cache.reusedShare * 100))
        for mode in [GroupPromptMode.swap, .join] {
            let scene = SceneCacheSimulation.run(mode: mode)
            say("Prompt prefix reuse, three-persona scene, speaker changing every request, group_prompt = \(mode): "
                + String(format: "%.1f%%", scene.reusedShare * 100) + " over \(scene.requests) requests")
        }
        let assembly = CoreBenchmarks.contextAssembly(storedMessages: 10_000, iterations: 200)
        say("Context assembly, 10,000 stored messages: p50 \(ms(assembly.p50)), p99 \(ms(assembly.p99))")
        // 50 tokens/s is M2-her's streaming pace; 500 tokens/s per stream is a stress case.
        for (label, pace) in [("50 tokens/s", Duration.milliseconds(20)), ("500 tokens/s", .milliseconds(2))] {
            let latency = await CoreBenchmarks.editLatency(streams: 100, pace: pace)
            say(
                "Token-to-edit latency, 100 concurrent streams at \(label) each (\(latency.samples) edits): "
                    + "p50 \(ms(latency.p50)), p99 \(ms(latency.p99)), max \(ms(latency.max))")
        }
    }

    static func ms(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        return String(format: "%.3f ms", value)
    }
}
