import BridgeConfig
@testable import persona_bridge
import Testing

@Suite("ShardSelection")
struct ShardSelectionTests {
    @Test("flags give ids and count; lists and ranges parse")
    func flags() throws {
        let one = try ShardSelection.resolve(ids: "3", count: "4", environment: [:])
        #expect(one == ShardSelection(shardIDs: [3], shardCount: 4))
        #expect(one.singleShardID == 3)
        let several = try ShardSelection.resolve(ids: "4-5, 0", count: "8", environment: [:])
        #expect(several.shardIDs == [0, 4, 5])
        #expect(several.singleShardID == nil)
    }

    @Test("flags win over the environment, which wins over [operations]")
    func precedence() throws {
        let environment = ["PB_SHARD_IDS": "1", "PB_SHARD_COUNT": "2"]
        let operations = OperationsSettings(shardIndex: 5, shardCount: 6)
        #expect(try ShardSelection.resolve(ids: "0", count: "3", environment: environment, operations: operations)
            == ShardSelection(shardIDs: [0], shardCount: 3))
        #expect(try ShardSelection.resolve(ids: nil, count: nil, environment: environment, operations: operations)
            == ShardSelection(shardIDs: [1], shardCount: 2))
        #expect(try ShardSelection.resolve(ids: nil, count: nil, environment: [:], operations: operations)
            == ShardSelection(shardIDs: [5], shardCount: 6))
        #expect(try ShardSelection.resolve(ids: nil, count: nil, environment: [:]) == .unspecified)
        #expect(!ShardSelection.unspecified.isSpecified)
    }

    @Test("'ordinal' takes the shard from a StatefulSet pod's HOSTNAME", arguments: [
        ("persona-bridge-0", 0), ("persona-bridge-2", 2), ("my-bot-prod-11", 11),
    ])
    func ordinal(_ hostname: String, _ expected: Int) throws {
        let selection = try ShardSelection.resolve(
            ids: nil, count: nil, environment: ["PB_SHARD_IDS": "ordinal", "PB_SHARD_COUNT": "12", "HOSTNAME": hostname])
        #expect(selection == ShardSelection(shardIDs: [expected], shardCount: 12))
    }

    @Test("bad selections are refused naming the source", arguments: [
        ("0", nil, [String: String](), "--shard-ids/--shard-count: the shard count"),
        (nil, "2", [:], "give the shard ids"),
        ("2", "2", [:], "not within 0..<2"),
        ("1,1", "4", [:], "twice"),
        ("a", "4", [:], "not a shard id"),
        ("3-1", "4", [:], "not a shard id"),
        ("0", "0", [:], "≥ 1"),
        ("ordinal", "2", ["HOSTNAME": "laptop"], "HOSTNAME"),
        ("ordinal", "2", ["HOSTNAME": "persona-bridge-5"], "not within 0..<2"),
    ] as [(String?, String?, [String: String], String)])
    func refused(_ ids: String?, _ count: String?, _ environment: [String: String], _ expected: String) {
        let error = #expect(throws: ShardSelectionError.self) {
            try ShardSelection.resolve(ids: ids, count: count, environment: environment)
        }
        #expect(error?.message.contains(expected) ?? false, "\(String(describing: error))")
        #expect(error.map { !$0.code.rawValue.isEmpty } ?? false)
    }
}
