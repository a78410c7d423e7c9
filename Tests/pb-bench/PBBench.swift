import Foundation

/// `pb-bench SUITE…`: prints loopback throughput and latency figures for the README.
@main
struct PBBench {
    static func main() async throws {
        let suites = CommandLine.arguments.dropFirst()
        // `ingest` (end to end against the fake Discord, plus the discord.py reference) runs only when named.
        let all = ["transport", "memory", "model", "core", "discord", "streaming", "store"]
        let known = all + ["ingest"]
        let chosen = suites.isEmpty ? all : Array(suites)
        for suite in chosen {
            say("== \(suite)")
            switch suite {
            case "transport": try await TransportBenchmark.run()
            case "memory": try await MemoryBenchmark.run()
            case "model": try await ModelBenchmark.run()
            case "core": await CoreBenchmark.run()
            case "discord": try await DiscordBenchmark.run()
            case "streaming": try await StreamingBenchmark.run()
            case "ingest": try await IngestBenchmark.run()
            case "store": try await StoreBenchmark.run()
            default:
                FileHandle.standardError.write(Data("pb-bench: unknown suite '\(suite)'; known: \(known.joined(separator: ", "))\n".utf8))
                exit(2)
            }
        }
    }
}

/// Prints a line and flushes at once, so figures survive a later crash and show up while a suite runs.
func say(_ line: String) {
    print(line)
    fflush(nil)
}
