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

    /// Loads a main config file and the personas it references.
    public func load(configPath: String) -> ConfigLoadResult {
        ConfigLoadResult(configuration: nil, diagnostics: [
            ConfigDiagnostic(file: configPath, message: "loader not implemented yet")
        ])
    }

    /// Loads a single persona file.
    public func loadPersona(path: String) -> PersonaLoadResult {
        PersonaLoadResult(persona: nil, diagnostics: [
            ConfigDiagnostic(file: path, message: "loader not implemented yet")
        ])
    }
}
