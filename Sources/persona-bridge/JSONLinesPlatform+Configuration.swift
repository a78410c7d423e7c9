import BridgeConfig
import Logging

extension PlatformFactory {
    /// The JSON-lines adapter over standard input and output (`[platforms.jsonl]`).
    static let jsonl = PlatformFactory(name: "jsonl") { configuration, _, logger in
        let section = configuration.platforms["jsonl"]
        var logger = logger
        logger[metadataKey: "platform"] = "jsonl"
        let platform = JSONLinesPlatform(moderators: Set(section?.strings("moderators") ?? []),
                                         defaultServer: section?.string("server"), logger: logger)
        return Built(platform: platform, service: platform)
    }
}
