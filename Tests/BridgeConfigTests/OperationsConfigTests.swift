import BridgeConfig
import Foundation
import Testing

@Suite("[operations] and [budgets]")
struct OperationsConfigTests {
    func load(_ config: String) throws -> (ConfigLoadResult, TempConfigDirectory) {
        let directory = try TempConfigDirectory()
        try directory.write("personas/alice.toml", TempConfigDirectory.persona("alice"))
        let file = try directory.write("bridge.toml", config)
        return (ConfigLoader(environment: ["OPENROUTER_API_KEY": "sk-or-test"]).load(configPath: file), directory)
    }

    @Test func storageCallTimeoutIsReadAndChecked() throws {
        let base = """
            [platforms.jsonl]
            enabled = true
            server = "local"
            moderators = ["mod"]

            """
        let (defaulted, first) = try load(base)
        defer { first.remove() }
        #expect(try #require(defaulted.configuration).storage.callTimeoutSeconds == 5)
        let (set, second) = try load(base + "[storage]\npath = \"state/b.sqlite\"\ncall_timeout_seconds = 2.5\n")
        defer { second.remove() }
        #expect(!set.hasErrors, "\(set.diagnostics)")
        #expect(try #require(set.configuration).storage.callTimeoutSeconds == 2.5)
        let (zero, third) = try load(base + "[storage]\ncall_timeout_seconds = 0\n")
        defer { third.remove() }
        #expect(zero.diagnostics.contains { $0.keyPath == "storage.call_timeout_seconds" })
    }

    @Test func everyOperationsAndBudgetKeyIsRead() throws {
        let (result, directory) = try load("""
            [operations]
            metrics_address = "0.0.0.0:9464"
            shutdown_grace_seconds = 4.5
            log_format = "json"
            log_level = "debug"

            [budgets]
            per_user_tokens_per_day = 20000
            per_channel_tokens_per_day = 100000
            per_server_tokens_per_day = 500000
            per_user_messages_per_minute = 6
            notice_interval_seconds = 900
            prompt_usd_per_million = 0.5
            completion_usd_per_million = 2
            cached_usd_per_million = 0.05

            [platforms.jsonl]
            enabled = true
            server = "local"
            moderators = ["mod"]
            """)
        defer { directory.remove() }
        #expect(!result.hasErrors, "\(result.diagnostics)")
        let configuration = try #require(result.configuration)
        #expect(configuration.operations.metricsAddress == "0.0.0.0:9464")
        #expect(configuration.operations.shutdownGraceSeconds == 4.5)
        #expect(configuration.operations.logFormat == "json")
        let budgets = configuration.budgets
        #expect(budgets.perUserTokensPerDay == 20_000)
        #expect(budgets.perChannelTokensPerDay == 100_000)
        #expect(budgets.perServerTokensPerDay == 500_000)
        #expect(budgets.perUserMessagesPerMinute == 6)
        #expect(budgets.noticeIntervalSeconds == 900)
        #expect(budgets.estimatedCost(promptTokens: 1_000_000, completionTokens: 0, cachedTokens: 0) == 0.5)
        #expect(configuration.platforms["jsonl"]?.strings("moderators") == ["mod"])
    }

    @Test func defaultsKeepTheGracePeriodAndOpenRouterPrices() throws {
        let (result, directory) = try load("")
        defer { directory.remove() }
        let configuration = try #require(result.configuration)
        #expect(configuration.operations.shutdownGraceSeconds == 10)
        #expect(configuration.operations.metricsAddress == nil)
        #expect(configuration.budgets.promptUSDPerMillion == 0.30)
        #expect(configuration.budgets.completionUSDPerMillion == 1.20)
        #expect(configuration.budgets.cachedUSDPerMillion == 0.03)
        #expect(configuration.budgets.perUserMessagesPerMinute == nil)
    }

    @Test func aBadMetricsAddressOrRateIsReported() throws {
        let (result, directory) = try load("""
            [operations]
            metrics_address = "localhost:http"

            [budgets]
            per_user_messages_per_minute = 0
            """)
        defer { directory.remove() }
        #expect(result.hasErrors)
        #expect(result.diagnostics.contains { $0.keyPath == "operations.metrics_address" })
        #expect(result.diagnostics.contains { $0.keyPath == "budgets.per_user_messages_per_minute" })
    }

    @Test func addressesParseWithLoopbackAsTheDefaultHost() {
        #expect(OperationsSettings.parseAddress("127.0.0.1:9464")! == ("127.0.0.1", 9464))
        #expect(OperationsSettings.parseAddress(":9464")! == ("127.0.0.1", 9464))
        #expect(OperationsSettings.parseAddress("9464")! == ("127.0.0.1", 9464))
        #expect(OperationsSettings.parseAddress("[::1]:9464")! == ("::1", 9464))
        #expect(OperationsSettings.parseAddress("host:99999") == nil)
        #expect(OperationsSettings.parseAddress("nonsense") == nil)
    }
}
