import ArgumentParser
import BridgeConfig
import Foundation
import Logging

/// `run`'s sharding flags; see `ShardSelection` for the environment fallback and `ordinal`.
struct ShardOptions: ParsableArguments {
    @Option(name: .customLong("shard-ids"),
            help: "Discord shards this process runs: 3, 0,2, 0-3, or 'ordinal' (from a StatefulSet pod's HOSTNAME). Env: PB_SHARD_IDS.")
    var shardIDs: String?

    @Option(name: .customLong("shard-count"), help: "Total number of Discord shards. Env: PB_SHARD_COUNT.")
    var shardCount: String?

    /// The selection from these flags, the environment or the config; a bad one is explained on
    /// standard error and ends the command with status 1.
    func selection(for configuration: BridgeConfiguration, logger: Logger) throws -> ShardSelection {
        do {
            let selection = try ShardSelection.resolve(ids: shardIDs, count: shardCount,
                                                       environment: ProcessInfo.processInfo.environment,
                                                       operations: configuration.operations)
            if selection.isSpecified {
                let ids = selection.shardIDs.map(String.init).joined(separator: ",")
                logger.info("discord shards \(ids) of \(selection.shardCount ?? 1) selected", metadata: [
                    "shard-ids": "\(ids)",
                    "shard-count": "\(selection.shardCount ?? 1)",
                ])
            }
            return selection
        } catch {
            FileHandle.standardError.write(Data("persona-bridge: \(error)\n".utf8))
            throw ExitCodeError.failure
        }
    }
}
