import Foundation
import Logging

/// The outcome of loading: the configuration (when usable) and every problem found.
public struct ConfigLoadResult: Sendable {
    /// The configuration; nil when an error made it unusable.
    public var configuration: BridgeConfiguration?
    /// Every problem found, errors and warnings.
    public var diagnostics: [ConfigDiagnostic]
    /// Whether any diagnostic is an error.
    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    /// Creates a result.
    public init(configuration: BridgeConfiguration?, diagnostics: [ConfigDiagnostic]) {
        self.configuration = configuration
        self.diagnostics = diagnostics
    }
}

/// The outcome of loading one persona file.
public struct PersonaLoadResult: Sendable {
    /// The persona; nil when an error made it unusable.
    public var persona: Persona?
    /// Every problem found.
    public var diagnostics: [ConfigDiagnostic]
    /// Whether any diagnostic is an error.
    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    /// Creates a result.
    public init(persona: Persona?, diagnostics: [ConfigDiagnostic]) {
        self.persona = persona
        self.diagnostics = diagnostics
    }
}

/// Loads the main TOML and its personas, resolving secrets and collecting every problem.
public struct ConfigLoader: Sendable {
    /// Environment used for `${VAR}` secrets.
    public var environment: [String: String]
    private let logger: Logger

    /// Creates a loader; `environment` defaults to the process environment.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger = Logger(label: "persona-bridge.config")) {
        self.environment = environment
        self.logger = logger
    }

    /// Loads a main config file, every persona in its personas directory and any explicit persona files.
    public func load(configPath: String) -> ConfigLoadResult {
        let file = ((configPath as NSString).expandingTildeInPath as NSString).standardizingPath
        let absolute = file.hasPrefix("/") ? file
            : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(file)
        guard let data = FileManager.default.contents(atPath: absolute) else {
            return ConfigLoadResult(configuration: nil, diagnostics: [ConfigDiagnostic(
                file: absolute, message: "cannot read config file", hint: "check that \(absolute) exists, or pass --config PATH")])
        }
        guard let source = String(data: data, encoding: .utf8) else {
            return ConfigLoadResult(configuration: nil, diagnostics: [ConfigDiagnostic(
                file: absolute, message: "config file is not UTF-8 text", hint: "save it as UTF-8")])
        }
        return parse(source: source, file: absolute)
    }

    /// Parses main-config TOML text as if read from `file` (relative paths start at its directory).
    public func parse(source: String, file: String) -> ConfigLoadResult {
        let root: [String: ConfigValue]
        switch ConfigValue.parseDocument(source) {
        case .success(let table): root = table
        case .failure(let error):
            return ConfigLoadResult(configuration: nil, diagnostics: [ConfigDiagnostic(
                file: file, line: error.line, column: error.column, message: "TOML syntax error: \(error.message)",
                hint: "fix the TOML syntax at this position; nothing else was checked")])
        }
        let reader = SchemaReader(file: file, source: source, environment: environment)
        reader.checkKeys(root, at: "", known: ConfigSchema.topLevel)
        var configuration = BridgeConfiguration(filePath: file)
        configuration.platforms = readPlatforms(root, reader)
        configuration.model = readModel(root, reader)
        configuration.storage = readStorage(root, reader)
        configuration.defaults = readDefaults(root, reader)
        configuration.admins = readAdmins(root, reader)
        configuration.operations = readOperations(root, reader)
        configuration.budgets = readBudgets(root, reader)
        configuration.memory = readMemory(root, reader)
        let personas = readPersonas(root, reader)
        configuration.personas = personas.loaded
        configuration.personasDirectory = personas.directory
        configuration.lorebooks = personas.lorebooks
        configuration.channels = readChannels(root, reader, personas: personas, platforms: configuration.platforms)
        configuration.scenes = readScenes(root, reader, personas: personas, platforms: configuration.platforms,
                                          channels: configuration.channels)
        configuration.servers = readServers(root, reader, lorebooks: personas.lorebooks, directory: personas.directory)
        checkMatureBindings(configuration, reader)
        checkDirectPersonas(configuration, reader)
        let failed = reader.diagnostics.contains { $0.severity == .error }
        if failed {
            logger.debug("configuration has errors", metadata: ["file": "\(file)", "problems": "\(reader.diagnostics.count)"])
        }
        return ConfigLoadResult(configuration: failed ? nil : configuration, diagnostics: reader.diagnostics)
    }

    /// Resolves `settings.apiKey` from `apiKeyFile` or the `apiKeyEnv` variable (for `chat --persona` without a
    /// config file); returns a diagnostic naming the variable or file when the key is missing.
    public func resolveAPIKey(for settings: inout ModelSettings, relativeTo directory: String = FileManager.default.currentDirectoryPath) -> ConfigDiagnostic? {
        let reader = SchemaReader(file: (directory as NSString).appendingPathComponent("(command line)"), source: "", environment: environment)
        return resolveAPIKey(for: &settings, reader: reader, at: "model")
    }

    func resolveAPIKey(for settings: inout ModelSettings, reader: SchemaReader, at path: String) -> ConfigDiagnostic? {
        if let file = settings.apiKeyFile {
            // A scratch reader keeps the problem out of `reader`; the caller decides where it goes.
            let scratch = SchemaReader(file: reader.file, source: "", environment: environment)
            settings.apiKey = scratch.readSecretFile(file, at: SchemaReader.path(path, "api_key_file"))
            guard var problem = scratch.diagnostics.first else { return nil }
            let position = reader.locator.position(of: problem.keyPath)
            problem.line = position?.line
            problem.column = position?.column
            return problem
        } else if let value = environment[settings.apiKeyEnv], !value.isEmpty {
            settings.apiKey = ConfigSecret(value, source: "env \(settings.apiKeyEnv)")
        } else {
            let position = reader.locator.position(of: SchemaReader.path(path, "api_key_env"))
            return ConfigDiagnostic(
                file: reader.file, line: position?.line, column: position?.column, keyPath: SchemaReader.path(path, "api_key_env"),
                message: "environment variable \(settings.apiKeyEnv) is not set (the \(settings.provider) API key)",
                hint: "export \(settings.apiKeyEnv)=… or set api_key_file in [model]")
        }
        return nil
    }
}
