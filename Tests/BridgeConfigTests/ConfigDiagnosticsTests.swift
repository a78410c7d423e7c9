import BridgeConfig
import Foundation
import Testing

@Suite("Config diagnostics: every problem, with file, line and hint")
struct ConfigDiagnosticsTests {
    let environment = ["OPENROUTER_API_KEY": "sk-or-test"]

    func load(_ config: String, personas: [String: String] = ["alice": TempConfigDirectory.persona("alice")])
        throws -> (ConfigLoadResult, TempConfigDirectory)
    {
        let directory = try TempConfigDirectory()
        for (name, text) in personas { try directory.write("personas/\(name).toml", text) }
        let file = try directory.write("bridge.toml", config)
        return (ConfigLoader(environment: environment).load(configPath: file), directory)
    }

    func diagnostic(_ result: ConfigLoadResult, keyPath: String) -> ConfigDiagnostic? {
        result.diagnostics.first { $0.keyPath == keyPath }
    }

    @Test("TOML syntax error reports TOMLKit's line and column")
    func syntaxError() throws {
        let (result, directory) = try load("""
            [model]
            provider = "openrouter"
            temperature = = 0.5
            """)
        defer { directory.remove() }
        #expect(result.configuration == nil)
        let problem = try #require(result.diagnostics.first)
        #expect(result.diagnostics.count == 1)
        #expect(problem.file.hasSuffix("bridge.toml"))
        #expect(problem.line == 3)
        #expect(problem.column != nil)
        #expect(problem.message.contains("TOML syntax error"))
        #expect(problem.hint != nil)
    }

    @Test("unknown keys are reported at their line with a did-you-mean suggestion")
    func unknownKeySuggestion() throws {
        let (result, directory) = try load("""
            [model]
            provider = "openrouter"
            temprature = 0.5

            [defaults]
            comand_prefix = "!x"
            """)
        defer { directory.remove() }
        let temperature = try #require(diagnostic(result, keyPath: "model.temprature"))
        #expect(temperature.line == 3)
        #expect(temperature.hint == "did you mean 'temperature'?")
        let prefix = try #require(diagnostic(result, keyPath: "defaults.comand_prefix"))
        #expect(prefix.line == 6)
        #expect(prefix.hint == "did you mean 'command_prefix'?")
        #expect(result.configuration == nil)
    }

    @Test("an unknown key far from every known key lists the known keys")
    func unknownKeyWithoutSuggestion() throws {
        let (result, directory) = try load("""
            zebra_mode = true
            """)
        defer { directory.remove() }
        let problem = try #require(diagnostic(result, keyPath: "zebra_mode"))
        #expect(problem.line == 1)
        #expect(problem.hint?.contains("known keys:") == true)
        #expect(problem.hint?.contains("personas_dir") == true)
    }

    @Test("wrong types name the expected type")
    func wrongType() throws {
        let (result, directory) = try load("""
            [model]
            max_attempts = "three"
            """)
        defer { directory.remove() }
        let problem = try #require(diagnostic(result, keyPath: "model.max_attempts"))
        #expect(problem.line == 2)
        #expect(problem.message == "expected an integer, found string")
        #expect(problem.hint != nil)
    }

    @Test("out-of-range values are all reported, in the main file and persona files")
    func ranges() throws {
        let persona = """
            name = "alice"
            character = "You are Alice."

            [model]
            temperature = 1.5
            max_output_tokens = 4096

            [trigger]
            talkativeness = 2
            """
        let (result, directory) = try load("""
            [model]
            temperature = 0
            top_p = 1.2
            max_output_tokens = 0

            [[channels]]
            platform = "console"
            channel = "demo"
            personas = ["alice"]
            """, personas: ["alice": persona])
        defer { directory.remove() }
        let main = ["model.temperature": 2, "model.top_p": 3, "model.max_output_tokens": 4]
        for (keyPath, line) in main {
            let problem = try #require(diagnostic(result, keyPath: keyPath), "\(keyPath)")
            #expect(problem.line == line, "\(keyPath)")
            #expect(problem.file.hasSuffix("bridge.toml"))
            #expect(problem.message.contains("out of range"))
            #expect(problem.hint != nil)
        }
        #expect(diagnostic(result, keyPath: "model.temperature")?.message.contains("(0, 1]") == true)
        let inPersona = ["model.temperature": 5, "model.max_output_tokens": 6, "trigger.talkativeness": 9]
        for (keyPath, line) in inPersona {
            let problem = try #require(
                result.diagnostics.first { $0.keyPath == keyPath && $0.file.hasSuffix("personas/alice.toml") }, "\(keyPath)")
            #expect(problem.line == line, "\(keyPath)")
        }
    }

    @Test("a binding naming a missing persona says where it looked and what exists")
    func missingPersona() throws {
        let (result, directory) = try load("""
            [platforms.console]

            [[channels]]
            platform = "console"
            channel = "demo"
            personas = ["alice", "alcie", "nobody"]
            """)
        defer { directory.remove() }
        let problems = result.diagnostics.filter { $0.keyPath == "channels[0].personas" }
        #expect(problems.count == 2)
        let typo = try #require(problems.first { $0.message.contains("'alcie'") })
        #expect(typo.line == 6)
        #expect(typo.message.contains(directory.path + "/personas/alcie.toml"))
        #expect(typo.hint?.contains("did you mean 'alice'?") == true)
        #expect(typo.hint?.contains("available personas: alice") == true)
        #expect(problems.contains { $0.message.contains("'nobody'") })
    }

    @Test("a missing explicit persona file is reported with the path")
    func missingPersonaFile() throws {
        let (result, directory) = try load("""
            persona_files = ["extra/bob.toml"]
            """)
        defer { directory.remove() }
        let problem = try #require(diagnostic(result, keyPath: "persona_files[0]"))
        #expect(problem.line == 1)
        #expect(problem.message.contains(directory.path + "/extra/bob.toml"))
        #expect(problem.hint != nil)
    }

    @Test("duplicate bindings point at the second and name the first")
    func duplicateBinding() throws {
        let (result, directory) = try load("""
            [platforms.console]

            [[channels]]
            platform = "console"
            channel = "demo"
            personas = ["alice"]

            [[channels]]
            platform = "console"
            channel = "demo"
            personas = ["alice"]
            """)
        defer { directory.remove() }
        let problem = try #require(diagnostic(result, keyPath: "channels[1]"))
        #expect(problem.line == 8)
        #expect(problem.message.contains("duplicate binding"))
        #expect(problem.hint?.contains("line 3") == true)
    }

    @Test("several problems across sections are all collected, not just the first")
    func collectsEverything() throws {
        let (result, directory) = try load("""
            [model]
            provider = "openruter"
            dialect = "weird"

            [defaults.trigger]
            mode = "sometimes"

            [platforms.discrod]

            [[channels]]
            platform = "console"
            channel = "demo"
            personas = ["ghost"]
            [channels.trigger]
            cooldown_seconds = -1
            """)
        defer { directory.remove() }
        let byPath = Dictionary(result.diagnostics.map { ($0.keyPath, $0) }, uniquingKeysWith: { first, _ in first })
        #expect(byPath["model.provider"]?.hint == "did you mean 'openrouter'?")
        #expect(byPath["model.provider"]?.line == 2)
        #expect(byPath["model.dialect"]?.line == 3)
        #expect(byPath["defaults.trigger.mode"]?.line == 6)
        #expect(byPath["platforms.discrod"]?.hint == "did you mean 'discord'?")
        #expect(byPath["platforms.discrod"]?.line == 8)
        #expect(byPath["channels[0].personas"]?.line == 13)
        #expect(byPath["channels[0].trigger.cooldown_seconds"]?.line == 15)
        #expect(result.diagnostics.filter { $0.severity == .error }.count >= 6)
    }

    @Test("persona file problems carry the persona file name and line")
    func personaProblems() throws {
        let (result, directory) = try load("", personas: ["bad": """
            name = "bad"
            display_nam = "Bad"

            [[examples]]
            user = "hi"
            """])
        defer { directory.remove() }
        let unknown = try #require(diagnostic(result, keyPath: "display_nam"))
        #expect(unknown.file == directory.path + "/personas/bad.toml")
        #expect(unknown.line == 2)
        #expect(unknown.hint == "did you mean 'display_name'?")
        let missingCharacter = try #require(diagnostic(result, keyPath: "character"))
        #expect(missingCharacter.hint?.contains("character =") == true)
        let example = try #require(diagnostic(result, keyPath: "examples[0]"))
        #expect(example.line == 4)
        #expect(example.message.contains("'ai'"))
    }

    @Test("checkReport prints file:line: error: message (hint: …) and a summary")
    func reportFormat() throws {
        let (result, directory) = try load("""
            [model]
            temprature = 0.5
            """)
        defer { directory.remove() }
        let report = checkReport(result.diagnostics, relativeTo: directory.path)
        #expect(report.contains("bridge.toml:2:1: error: model.temprature: unknown key 'temprature' in [model] (hint: did you mean 'temperature'?)"))
        #expect(report.hasSuffix("1 error, 0 warnings"))
        #expect(checkReport([]) == "configuration OK: no problems found")
    }
}
