import ArgumentParser
import BridgeConfig
import Foundation
import PlatformMatrix

/// `persona-bridge matrix …`: Matrix helpers.
struct MatrixCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matrix", abstract: "Matrix helpers: the application service registration.",
        subcommands: [MatrixRegistrationCommand.self])
}

/// `persona-bridge matrix registration --config FILE [--out FILE]`: writes the appservice registration YAML.
struct MatrixRegistrationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registration",
        abstract: "Write the application service registration for [platforms.matrix] mode = \"appservice\".",
        discussion: """
            The first run generates as_token and hs_token (random, 32 bytes each) into the token files (mode 0600); \
            later runs reuse them, so the homeserver's copy stays valid. Tokens are never printed: they are in the \
            token files and the registration file. Add the registration's path to app_service_config_files in the \
            homeserver's config and restart it.
            """)

    @OptionGroup var options: ConfigOptions

    @Option(help: "Where to write the registration (default: registration_path, else matrix-appservice/registration.yaml beside the config). `-` prints it, only on the run that generates the tokens.")
    var out: String?

    func run() async throws {
        let logger = CLILogging.bootstrap(level: options.logLevel ?? "warning")
        let result = ConfigLoader(logger: logger).load(configPath: options.config)
        guard let configuration = result.configuration, !result.hasErrors else {
            print(checkReport(result.diagnostics, relativeTo: FileManager.default.currentDirectoryPath))
            print("\(options.config): fix the errors above, then run matrix registration again.")
            throw ExitCode(1)
        }
        guard configuration.platforms["matrix"] != nil else {
            print("\(options.config): there is no [platforms.matrix] section; start from Bots/matrix-appservice.toml.")
            throw ExitCode(1)
        }
        guard MatrixAppserviceSettings.isAppservice(configuration) else {
            print("\(options.config): [platforms.matrix] is in client mode; set mode = \"appservice\" (and server_name) first.")
            throw ExitCode(1)
        }
        let settings: MatrixAppserviceSettings
        do { settings = try MatrixAppserviceSettings(configuration) } catch {
            print("\(options.config): error: \(error)")
            throw ExitCode(1)
        }
        let toStdout = out == "-"
        if toStdout, FileManager.default.fileExists(atPath: settings.asTokenPath) {
            print("The tokens were generated before and are not printed again; write the registration to a file with --out FILE.")
            throw ExitCode(1)
        }
        let tokens: MatrixAppserviceTokens
        do {
            tokens = try MatrixAppserviceTokens.loadOrCreate(asTokenPath: settings.asTokenPath, hsTokenPath: settings.hsTokenPath)
        } catch {
            print("error: \(error)")
            throw ExitCode(1)
        }
        let yaml = settings.registration(tokens).yaml
        if toStdout {
            print(yaml, terminator: "")
            return
        }
        let path = out.map { ($0 as NSString).expandingTildeInPath } ?? settings.registrationPath
        do {
            try Self.writePrivate(yaml, to: path)
        } catch {
            print("error: cannot write \(path): \(error)")
            throw ExitCode(1)
        }
        print(tokens.created
            ? "Generated new as_token and hs_token into \(settings.asTokenPath) and \(settings.hsTokenPath) (mode 0600)."
            : "Reused the tokens in \(settings.asTokenPath) and \(settings.hsTokenPath).")
        print("Wrote \(path) (mode 0600). Add it to the homeserver's config and restart the homeserver:")
        print("  app_service_config_files:")
        print("    - \(path)")
        print("Personas will speak as @\(settings.userPrefix)<name>:\(settings.serverName); the homeserver must reach \(settings.url).")
    }

    /// Replaces `path` with `text`, readable by the owner only (it holds both tokens).
    static func writePrivate(_ text: String, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteNoPermission)
        }
        guard rename(temporary, path) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw CocoaError(.fileWriteUnknown)
        }
    }
}
