import BridgeConfig
import Foundation
import Testing

@Suite("[memory] and memory_prompt")
struct MemoryConfigTests {
    func load(_ config: String, persona: String = TempConfigDirectory.persona("alice")) throws -> (ConfigLoadResult, TempConfigDirectory) {
        let directory = try TempConfigDirectory()
        try directory.write("personas/alice.toml", persona)
        let file = try directory.write("bridge.toml", """
            [platforms.jsonl]
            enabled = true
            server = "local"
            moderators = ["mod"]

            """ + config)
        return (ConfigLoader(environment: ["OPENROUTER_API_KEY": "sk-or-test"]).load(configPath: file), directory)
    }

    @Test func defaultsWithoutASection() throws {
        let (result, directory) = try load("")
        defer { directory.remove() }
        let memory = try #require(result.configuration).memory
        #expect(memory == MemorySettings())
        #expect(memory.enabled && memory.everyTokens == 8_000 && memory.maxTokens == 2_000)
    }

    @Test func everyKeyIsReadWithPerChannelAndPerPersonaPrompts() throws {
        let (result, directory) = try load("""
            [memory]
            enabled = true
            every_tokens = 6000
            max_tokens = 3000
            summary_tokens = 400
            prompt = "Summarise as a ship's log."
            fold_prompt = "Merge the log."

            [[channels]]
            platform = "jsonl"
            channel = "deck"
            personas = ["alice"]
            memory_every_tokens = 4000
            memory_prompt = "Summarise as a captain."
            """, persona: TempConfigDirectory.persona("alice") + "\nmemory_prompt = \"Summarise as Alice would.\"\n")
        defer { directory.remove() }
        #expect(!result.hasErrors, "\(result.diagnostics)")
        let configuration = try #require(result.configuration)
        #expect(configuration.memory == MemorySettings(everyTokens: 6_000, maxTokens: 3_000, summaryTokens: 400,
                                                       prompt: "Summarise as a ship's log.", foldPrompt: "Merge the log."))
        #expect(configuration.channels.first?.memoryEveryTokens == 4_000)
        #expect(configuration.channels.first?.memoryPrompt == "Summarise as a captain.")
        #expect(configuration.personas["alice"]?.memoryPrompt == "Summarise as Alice would.")
    }

    @Test func checkReportsBadValuesAndRiskyCombinations() throws {
        let (bad, first) = try load("""
            [memory]
            every_tokens = 100
            max_tokens = 50000
            prompt = ""
            colour = "blue"
            """)
        defer { first.remove() }
        #expect(bad.hasErrors)
        let paths = Set(bad.diagnostics.map(\.keyPath))
        #expect(paths.isSuperset(of: ["memory.every_tokens", "memory.max_tokens", "memory.prompt", "memory.colour"]),
                "\(bad.diagnostics)")
        let (risky, second) = try load("""
            [memory]
            max_tokens = 10000
            summary_tokens = 2048
            every_tokens = 3000
            """)
        defer { second.remove() }
        #expect(!risky.hasErrors, "\(risky.diagnostics)")
        let warnings = risky.diagnostics.filter { $0.severity == .warning }.map(\.keyPath)
        #expect(Set(warnings) == ["memory.max_tokens", "memory.every_tokens"], "\(risky.diagnostics)")
        let (halfCap, third) = try load("[memory]\nmax_tokens = 600\nsummary_tokens = 400\n")
        defer { third.remove() }
        #expect(halfCap.diagnostics.contains { $0.keyPath == "memory.summary_tokens" && $0.severity == .warning })
    }
}
