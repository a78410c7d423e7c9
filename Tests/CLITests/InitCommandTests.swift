import Foundation
import PBTestSupport
@testable import persona_bridge
import Testing

/// `persona-bridge init` and the shipped example configs, offline.
@Suite struct InitCommandTests {
    let personas = RepoPaths.bots.appendingPathComponent("personas").path

    func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pb-init-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test(arguments: [
        ("discord.toml", ["DISCORD_TOKEN": "t"], "2 channel bindings", "DISCORD_TOKEN"),
        ("matrix.toml", ["MATRIX_ACCESS_TOKEN": "t"], "1 channel binding", "MATRIX_ACCESS_TOKEN"),
        ("irc.toml", ["IRC_SASL_PASSWORD": "t"], "2 channel bindings", nil),
        ("matrix-appservice.toml", [:], "1 channel binding", nil),
        ("linked.toml", ["DISCORD_TOKEN": "t", "MATRIX_ACCESS_TOKEN": "t", "IRC_SASL_PASSWORD": "t"], "1 linked scene", "DISCORD_TOKEN"),
    ])
    func theExampleConfigsPassCheckOnceTheirSecretsAreExported(_ file: String, _ secrets: [String: String], _ summary: String,
                                                               _ secretVariable: String?) async throws {
        let path = RepoPaths.bots.appendingPathComponent(file).path
        let (code, output) = try await CLI.run(["check", "--config", path],
                                               environment: secrets.merging(["OPENROUTER_API_KEY": "k"]) { $1 })
        #expect(code == 0, "\(file): \(output)")
        #expect(output.contains(summary), "\(file): \(output)")
        for persona in ["marta", "juniper", "rook"] {
            #expect(try String(contentsOfFile: path, encoding: .utf8).contains("\"\(persona)\""), "\(file) binds \(persona)")
        }
        if let secretVariable {
            let (missingCode, missing) = try await CLI.run(["check", "--config", path], environment: ["OPENROUTER_API_KEY": "k"])
            #expect(missingCode == 1 && missing.contains(secretVariable), "\(file) without its secret: \(missing)")
        }
    }

    @Test func nonInteractiveInitWritesAConfigCheckAcceptsAndNeverOverwritesWithoutForce() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("bot.toml").path
        let arguments = ["init", "--platform", "discord", "--persona", "marta", "--channel", "123456789012345678",
                         "--personas-dir", personas, "--out", out]
        let (code, output) = try await CLI.run(arguments)
        #expect(code == 0, "\(output)")
        #expect(output.contains("persona-bridge check --online --config"), "next steps are printed: \(output)")
        let written = try String(contentsOfFile: out, encoding: .utf8)
        #expect(written.contains("token = \"${DISCORD_TOKEN}\""), "\(written)")

        let (checkCode, check) = try await CLI.run(["check", "--config", out],
                                                   environment: ["DISCORD_TOKEN": "secret-token", "OPENROUTER_API_KEY": "k"])
        #expect(checkCode == 0, "\(check)")
        #expect(check.contains("1 channel binding") && check.contains("platforms: discord"), "\(check)")

        try "# mine\n".write(toFile: out, atomically: true, encoding: .utf8)
        let (again, refusal) = try await CLI.run(arguments)
        #expect(again == 1 && refusal.contains("exists") && refusal.contains("--force"), "\(refusal)")
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "# mine\n", "the existing file is untouched")
        let (forced, forcedOutput) = try await CLI.run(arguments + ["--force"])
        #expect(forced == 0, "\(forcedOutput)")
        #expect(try String(contentsOfFile: out, encoding: .utf8) == written)
    }

    @Test func nonInteractiveInitRefusesMissingOrWrongValuesNamingTheOption() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("bot.toml").path
        let base = ["init", "--platform", "discord", "--persona", "marta", "--personas-dir", personas, "--out", out]
        let (missingCode, missing) = try await CLI.run(base)
        #expect(missingCode != 0 && missing.contains("--channel"), "\(missing)")
        let (badCode, bad) = try await CLI.run(base + ["--channel", "#general"])
        #expect(badCode != 0 && bad.contains("Copy Channel ID"), "\(bad)")
        let (secretCode, secret) = try await CLI.run(base + ["--channel", "123456789012345678", "--secret-env", "MTIz.NDU2.Nzg5-abc"])
        #expect(secretCode != 0 && secret.contains("not the secret itself"), "\(secret)")
        #expect(!secret.contains("MTIz.NDU2.Nzg5-abc\n\n"), "\(secret)")
        let (personaCode, persona) = try await CLI.run(["init", "--platform", "discord", "--persona", "nobody", "--channel", "1",
                                                        "--personas-dir", personas, "--out", out])
        #expect(personaCode != 0 && persona.contains("marta"), "the shipped personas are listed: \(persona)")
        #expect(!FileManager.default.fileExists(atPath: out), "nothing was written")
    }

    @Test func initForMatrixAndForIRCWithAnImportedCardPassCheck() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let matrix = dir.appendingPathComponent("matrix.toml").path
        let (code, output) = try await CLI.run([
            "init", "--platform", "matrix", "--persona", "juniper", "--channel", "!room:example.org", "--personas-dir", personas,
            "--homeserver", "https://matrix.example.org", "--user-id", "@juniper:example.org", "--out", matrix,
        ])
        #expect(code == 0, "\(output)")
        let (matrixCheck, matrixOutput) = try await CLI.run(["check", "--config", matrix],
                                                            environment: ["MATRIX_ACCESS_TOKEN": "t", "OPENROUTER_API_KEY": "k"])
        #expect(matrixCheck == 0, "\(matrixOutput)")

        let card = dir.appendingPathComponent("captain.json")
        try """
            {"spec": "chara_card_v2", "spec_version": "2.0", "data": {"name": "Captain Rhea",
             "description": "{{char}} commands the airship Kestrel.", "personality": "bold", "scenario": "",
             "first_mes": "Welcome aboard.", "mes_example": ""}}
            """.write(to: card, atomically: true, encoding: .utf8)
        let irc = dir.appendingPathComponent("irc/bot.toml").path
        let (ircCode, ircOutput) = try await CLI.run([
            "init", "--platform", "irc", "--persona-card", card.path, "--channel", "#kestrel", "--host", "irc.example.net",
            "--nick", "rhea", "--sasl-account", "rhea", "--secret-env", "RHEA_SASL", "--out", irc,
        ])
        #expect(ircCode == 0, "\(ircOutput)")
        let persona = dir.appendingPathComponent("irc/personas/captain-rhea.toml").path
        #expect(FileManager.default.fileExists(atPath: persona), "the card is written next to the config: \(ircOutput)")
        let (ircCheck, ircCheckOutput) = try await CLI.run(["check", "--config", irc],
                                                           environment: ["RHEA_SASL": "pw", "OPENROUTER_API_KEY": "k"])
        #expect(ircCheck == 0, "\(ircCheckOutput)")
        #expect(try String(contentsOfFile: irc, encoding: .utf8).contains("sasl_password = \"${RHEA_SASL}\""))
    }

    /// The interactive form, through a pseudo-terminal (`script` gives `init` a terminal as its stdin): wrong answers
    /// are explained and asked again, the secret itself is refused, defaults are taken on Enter.
    @Test func interactiveInitAsksInATerminal() async throws {
        guard let script = findExecutable("script") else {
            throw TestServerError("`script` (util-linux) is needed to give init a terminal; apt-get install bsdutils")
        }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("bot.toml").path
        let answers = ["telegram", "discord", "marta", out, "general", "123456789012345678", "MTIz.NDU2.Nzg5-abc", ""]
        // cd to the repository so the default personas directory (Bots/personas) is the shipped one.
        let process = try TestServer(executable: "/bin/sh", arguments: [
            "-c", "cd \"$1\" && printf '%s\\n' \"$@\" | tail -n +4 | \"$2\" -q -e -c \"$3 init\" /dev/null",
            "sh", RepoPaths.root.path, script, CLI.binary,
        ] + answers, environment: ["PATH": "/usr/bin:/bin", "HOME": dir.path, "TERM": "dumb"])
        let (code, output) = try await process.waitForCompleteOutput(timeout: .seconds(60))
        #expect(code == 0, "\(output)")
        for prompt in ["Platform (discord, matrix, irc)", "Persona (juniper, marta, rook", "Write the config to",
                       "Discord channel id", "Environment variable holding the bot token [DISCORD_TOKEN]"] {
            #expect(output.contains(prompt), "prompt \(prompt): \(output)")
        }
        #expect(output.contains("choose discord, matrix or irc"), "\(output)")
        #expect(output.contains("Copy Channel ID"), "\(output)")
        #expect(output.contains("not the secret itself"), "\(output)")
        let written = try String(contentsOfFile: out, encoding: .utf8)
        #expect(written.contains("token = \"${DISCORD_TOKEN}\"") && !written.contains("MTIz"), "\(written)")
        #expect(written.contains("channel = \"123456789012345678\"") && written.contains("personas = [\"marta\"]"), "\(written)")
        let (checkCode, check) = try await CLI.run(["check", "--config", out], environment: ["DISCORD_TOKEN": "t", "OPENROUTER_API_KEY": "k"])
        #expect(checkCode == 0, "\(check)")
    }
}

/// `StarterConfig`'s pure helpers.
@Suite struct StarterConfigTests {
    @Test func personasDirIsWrittenRelativeToTheConfig() {
        #expect(StarterConfig.relativePath(from: "/srv/bots", to: "/srv/bots/personas") == "personas")
        #expect(StarterConfig.relativePath(from: "/srv/bots/discord", to: "/srv/repo/Bots/personas") == "../../repo/Bots/personas")
        #expect(StarterConfig.relativePath(from: "/tmp/x", to: "/srv/personas") == "/srv/personas")
    }

    @Test func variableNamesAreNamesNotSecrets() {
        #expect(StarterConfig.isVariableName("DISCORD_TOKEN") && StarterConfig.isVariableName("_x1"))
        #expect(!StarterConfig.isVariableName("MTIz.NDU2.Nzg5") && !StarterConfig.isVariableName("1ABC")
                    && !StarterConfig.isVariableName("syt_abc-def") && !StarterConfig.isVariableName(""))
    }
}
