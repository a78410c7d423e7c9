import BridgeConfig
import Foundation
import Logging
import ServiceLifecycle
import Storage
import StoragePostgres

extension BridgeRuntime {
    /// Environment variable holding the PostgreSQL password (when the URL has none).
    static let postgresPasswordVariable = "PB_POSTGRES_PASSWORD"
    /// Environment variable naming a file that holds the PostgreSQL password (a mounted secret).
    static let postgresPasswordFileVariable = "PB_POSTGRES_PASSWORD_FILE"

    /// Opens the configured store: `storage.url` `postgres://…` selects `PostgresStore`, otherwise
    /// `storage.path` (or the default path) opens `SQLiteStore`. Problems are explained on standard
    /// error, never with the password, and end in `ExitCodeError.failure`. The service, when there is one,
    /// must run (before the store's closer in the group) for the store to answer.
    static func openStore(
        _ settings: StorageSettings, environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger
    ) async throws -> (store: any Store, service: (any Service)?) {
        guard let url = settings.url else {
            let path = settings.path ?? StorageSettings.defaultRelativePath
            return (try await SQLiteStore.open(.file(path: path), logger: logger), nil)
        }
        let scheme = url.prefix(while: { $0 != ":" }).lowercased()
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw explained("storage.url '\(redactedURL(url))' is not a postgres:// URL; use storage.path for SQLite.")
        }
        do {
            let configuration = try PostgresStoreConfiguration(
                url: url, password: try postgresPassword(url: url, environment: environment))
            logger.info("opening PostgreSQL storage", metadata: ["store": "\(configuration)"])
            let store = try await PostgresStore.open(configuration, logger: logger)
            return (store, store)
        } catch let error as StorageError {
            throw explained("cannot open the PostgreSQL store: \(error)")
        }
    }

    /// The password from the URL, else `PB_POSTGRES_PASSWORD`, else the file `PB_POSTGRES_PASSWORD_FILE` names.
    static func postgresPassword(url: String, environment: [String: String]) throws -> String? {
        if URLComponents(string: url)?.password != nil { return nil }
        if let password = environment[postgresPasswordVariable], !password.isEmpty { return password }
        guard let file = environment[postgresPasswordFileVariable], !file.isEmpty else { return nil }
        do {
            return try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw StorageError(code: .cannotOpen, message: "cannot read the password file \(file) (\(postgresPasswordFileVariable))")
        }
    }

    /// Prints `message` on standard error and returns the error that ends the command with status 1.
    private static func explained(_ message: String) -> ExitCodeError {
        FileHandle.standardError.write(Data("persona-bridge: \(message)\n".utf8))
        return .failure
    }
}
