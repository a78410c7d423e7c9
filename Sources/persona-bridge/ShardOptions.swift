import ArgumentParser
import Foundation

/// `run`'s sharding flags; see `ShardSelection` for the environment fallback and `ordinal`.
struct ShardOptions: ParsableArguments {
    @Option(name: .customLong("shard-ids"),
            help: "Discord shards this process runs: 3, 0,2, 0-3, or 'ordinal' (from a StatefulSet pod's HOSTNAME). Env: PB_SHARD_IDS.")
    var shardIDs: String?

    @Option(name: .customLong("shard-count"), help: "Total number of Discord shards. Env: PB_SHARD_COUNT.")
    var shardCount: String?
}
