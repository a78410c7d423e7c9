import Foundation
import Testing

@testable import ModelClient

@Suite struct ModelTypesTests {
    @Test func chatMessageOmitsNilName() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let plain = String(decoding: try encoder.encode(ChatMessage(role: .user, content: "hi")), as: UTF8.self)
        #expect(plain == #"{"content":"hi","role":"user"}"#)
        let named = String(
            decoding: try encoder.encode(ChatMessage(role: .userSystem, content: "x", name: "Ann")), as: UTF8.self)
        #expect(named == #"{"content":"x","name":"Ann","role":"user_system"}"#)
    }

    @Test func unknownRoleRoundTrips() throws {
        let data = Data(#"{"role":"narrator","content":"c"}"#.utf8)
        let message = try JSONDecoder().decode(ChatMessage.self, from: data)
        #expect(message.role.rawValue == "narrator")
        #expect(message.role.isExtension)
        #expect(!ChatRole.user.isExtension)
        #expect(ChatRole.sampleMessageAI.rawValue == "sample_message_ai")
    }

    @Test func finishReasonKeepsUnknownValues() throws {
        let reasons = try JSONDecoder().decode(
            [FinishReason].self, from: Data(#"["stop","length","content_filter","tool_calls"]"#.utf8))
        #expect(reasons == [.stop, .length, .contentFilter, .unknown("tool_calls")])
        #expect(FinishReason.unknown("x").wireValue == "x")
    }

    @Test(arguments: [
        (ModelParameters(temperature: 0), "temperature"),
        (ModelParameters(temperature: 1.01), "temperature"),
        (ModelParameters(temperature: .nan), "temperature"),
        (ModelParameters(topP: 0), "top_p"),
        (ModelParameters(topP: 1.5), "top_p"),
        (ModelParameters(maxOutputTokens: 0), "max output tokens"),
        (ModelParameters(maxOutputTokens: 2049), "max output tokens"),
    ])
    func parameterValidationNamesTheParameter(parameters: ModelParameters, name: String) {
        do {
            try parameters.validate()
            Issue.record("expected \(parameters) to be rejected")
        } catch {
            #expect(error.code == .invalidParameter)
            #expect(error.message.hasPrefix(name))
        }
    }

    @Test func validParametersPass() throws {
        try ModelParameters().validate()
        try ModelParameters(temperature: 1, topP: 1, maxOutputTokens: 1).validate()
        try ModelParameters(temperature: 0.01, topP: 0.01, maxOutputTokens: 2048).validate()
    }

    @Test func apiKeyNeverPrintsItsValue() {
        let key = APIKey("sk-or-secret-123\n", source: .environment("OPENROUTER_API_KEY"))
        #expect(key.value == "sk-or-secret-123")
        var dumped = ""
        dump(key, to: &dumped)
        for text in [key.description, key.debugDescription, "\(key)", String(reflecting: key), dumped] {
            #expect(!text.contains("secret"), "leaked in: \(text)")
        }
        #expect(key.description.contains("OPENROUTER_API_KEY"))
        var config = ModelClientConfiguration(apiKey: key)
        config.extraHeaders = ["X-A": "b"]
        var dumpedConfig = ""
        dump(config, to: &dumpedConfig)
        #expect(!dumpedConfig.contains("secret"))
        #expect(!"\(config)".contains("secret"))
    }

    @Test func apiKeyFromEnvironmentNamesTheVariable() {
        #expect(throws: ModelError.self) { try APIKey.fromEnvironment("PB_TEST_KEY", environment: [:]) }
        do {
            _ = try APIKey.fromEnvironment("PB_TEST_KEY", environment: ["PB_TEST_KEY": "  "])
        } catch {
            #expect(error.code == .missingAPIKey)
            #expect(error.message.contains("PB_TEST_KEY"))
        }
        #expect((try? APIKey.fromEnvironment("K", environment: ["K": "v"]))?.value == "v")
    }

    @Test func apiKeyFromFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pb-key-\(getpid())").path
        try "key-from-file\nsecond line\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let key = try APIKey.fromFile(path)
        #expect(key.value == "key-from-file")
        #expect(throws: ModelError.self) { try APIKey.fromFile(path + ".missing") }
    }

    @Test func configurationDefaultsAndEndpoints() throws {
        let key = APIKey("k")
        let openrouter = ModelClientConfiguration(apiKey: key)
        #expect(openrouter.provider == .openrouter)
        #expect(openrouter.model == "minimax/minimax-m2-her")
        #expect(openrouter.endpointURL == "https://openrouter.ai/api/v1/chat/completions")
        #expect(openrouter.dialect == .auto)
        try openrouter.validate()
        let native = ModelClientConfiguration(provider: .minimaxNative, apiKey: key)
        #expect(native.endpointURL == "https://api.minimax.io/v1/text/chatcompletion_v2")
        #expect(native.model == "M2-her")
        let custom = ModelClientConfiguration(provider: .minimax, baseURL: "http://127.0.0.1:9/v1/", apiKey: key)
        #expect(custom.endpointURL == "http://127.0.0.1:9/v1/chat/completions")
        let compatible = ModelClientConfiguration(provider: .openaiCompatible, apiKey: key)
        #expect(throws: ModelError.self) { try compatible.validate() }
        var badHeader = openrouter
        badHeader.extraHeaders = ["Bad Name": "v"]
        #expect(throws: ModelError.self) { try badHeader.validate() }
    }

    @Test func errorDescriptionCarriesContext() {
        let error = ModelError(
            code: .truncated, message: "stream ended early", partialText: "abc", status: 200, provider: .minimax)
        #expect(error.description.contains("truncated"))
        #expect(error.description.contains("HTTP 200"))
        #expect(error.code != .serverError)
    }
}
