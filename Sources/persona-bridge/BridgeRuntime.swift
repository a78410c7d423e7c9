import BridgeConfig
import BridgeCore
import Foundation
import HTTPTransport
import Logging
import ServiceLifecycle
import ModelClient
import Storage

/// What `run` and `chat` share: a loaded config turned into a store, a model client and a router.
struct BridgeRuntime {
    let configuration: BridgeConfiguration
    let store: any Store
    /// What serves the store (the PostgreSQL pool), if it needs serving: first in the group, so it stops last.
    let storeService: (any Service)?
    let http: HTTPClient
    let model: ModelSession
    let logger: Logger
    /// Which Discord shards this process runs (`run --shard-ids/--shard-count`, `PB_SHARD_IDS`/`PB_SHARD_COUNT`).
    var shards = ShardSelection.unspecified

    /// Loads and checks a config file; prints every diagnostic and exits 1 on errors.
    static func loadConfiguration(path: String, logger: Logger) throws -> BridgeConfiguration {
        let result = ConfigLoader(logger: logger).load(configPath: path)
        let problems = result.diagnostics
        if !problems.isEmpty {
            FileHandle.standardError.write(
                Data((checkReport(problems, relativeTo: FileManager.default.currentDirectoryPath) + "\n").utf8))
        }
        guard let configuration = result.configuration, !result.hasErrors else {
            FileHandle.standardError.write(Data("persona-bridge: \(path) has errors; nothing was started.\n".utf8))
            throw ExitCodeError.failure
        }
        return configuration
    }

    /// Opens the store and the model client. Fails fast, with the variable to set, when the key is missing.
    static func start(_ configuration: BridgeConfiguration, logger: Logger) async throws -> BridgeRuntime {
        let modelConfiguration: ModelClientConfiguration
        do {
            modelConfiguration = try configuration.model.clientConfiguration()
            try modelConfiguration.validate()
        } catch {
            FileHandle.standardError.write(Data("persona-bridge: \(error.message)\n".utf8))
            throw ExitCodeError.failure
        }
        // Every call gets a deadline: a database that stops answering must not hang replies or shutdown.
        let opened = try await openStore(configuration.storage, logger: logger)
        let store = DeadlineStore(opened.store,
                                  deadline: .milliseconds(Int64(configuration.storage.callTimeoutSeconds * 1000)))
        let http = HTTPClient(logger: logger)
        let model = ModelSession(configuration: modelConfiguration, httpClient: http, logger: logger)
        return BridgeRuntime(configuration: configuration, store: store, storeService: opened.service, http: http, model: model, logger: logger)
    }

    /// Consecutive store deadline failures, for `/readyz`.
    var storeHealth: StoreHealth? { (store as? DeadlineStore)?.health }

    /// A router over `platforms`.
    func router(platforms: [any ChatPlatform], metrics: BridgeMetrics = BridgeMetrics()) -> Router {
        Router(configuration: RouterConfiguration(configuration), model: model, store: store, platforms: platforms,
               metrics: metrics, logger: logger)
    }

    /// Flushes the store and stops the HTTP driver.
    func shutdown() async {
        do { try await store.close() } catch { logger.error("closing the store failed", metadata: ["error": "\(error)"]) }
        http.shutdown()
    }

    /// A URL with any password removed, for messages.
    static func redactedURL(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "<unparsable URL>" }
        if components.password != nil { components.password = "***" }
        return components.string ?? "<unparsable URL>"
    }
}

/// Exit status for a failure already explained on standard error.
enum ExitCodeError: Error {
    /// Status 1: bad config or command line.
    case failure
    /// Status 78 (EX_CONFIG): a platform refused the configuration (token, intents, account).
    case configuration
    /// Status 70 (EX_SOFTWARE): a service failed for another reason.
    case internalFailure
}
