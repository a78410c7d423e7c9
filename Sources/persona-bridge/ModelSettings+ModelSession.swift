import BridgeConfig
import Foundation
import ModelClient

extension ModelSettings {
    /// The model client configuration these settings describe, with the key read from its env var or file.
    func clientConfiguration(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ModelError) -> ModelClientConfiguration {
        let key: APIKey
        if let secret = apiKey {
            key = APIKey(secret.reveal(), source: apiKeyFile.map { .file($0) } ?? .environment(apiKeyEnv))
        } else if let file = apiKeyFile {
            key = try APIKey.fromFile(file)
        } else {
            key = try APIKey.fromEnvironment(apiKeyEnv, environment: environment)
        }
        return ModelClientConfiguration(
            provider: provider,
            baseURL: baseURL, model: model, apiKey: key,
            dialect: dialect,
            extraHeaders: extraHeaders, httpReferer: httpReferer, appTitle: xTitle, maxAttempts: maxAttempts,
            connectTimeout: .milliseconds(Int(connectTimeoutSeconds * 1000)),
            idleTimeout: .milliseconds(Int(idleTimeoutSeconds * 1000)))
    }
}
