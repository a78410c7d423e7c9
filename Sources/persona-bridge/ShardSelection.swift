import BridgeConfig

/// Which Discord gateway shards this process runs. The Discord adapter's factory reads it from
/// `BridgeRuntime.shards`; when unspecified, `[platforms.discord] shard_ids`/`shard_count` apply.
///
/// Sources, first found wins: `run --shard-ids/--shard-count`, then `PB_SHARD_IDS`/`PB_SHARD_COUNT`,
/// then `[operations] shard_index`/`shard_count`. In a Kubernetes StatefulSet every pod gets the
/// same environment, so `PB_SHARD_IDS=ordinal` takes the shard from the pod's ordinal: the number
/// after the last `-` of `HOSTNAME` (pod `persona-bridge-2` runs shard 2).
struct ShardSelection: Hashable, Sendable {
    /// Shard ids this process runs, ascending; empty when unspecified.
    let shardIDs: [Int]
    /// Total number of shards; `nil` when unspecified.
    let shardCount: Int?

    /// Nothing was given: the adapter's own config decides.
    static let unspecified = ShardSelection(shardIDs: [], shardCount: nil)

    /// Whether ids and a count were given.
    var isSpecified: Bool { shardCount != nil }

    /// The only shard id, when exactly one was given (one process per shard).
    var singleShardID: Int? { shardIDs.count == 1 ? shardIDs[0] : nil }

    /// Environment variable with the shard ids: `3`, `0,2`, `0-3` or `ordinal`.
    static let idsVariable = "PB_SHARD_IDS"
    /// Environment variable with the total number of shards.
    static let countVariable = "PB_SHARD_COUNT"

    /// Resolves the selection from flags, then the environment, then the config's `[operations]`.
    static func resolve(
        ids flagIDs: String?, count flagCount: String?, environment: [String: String],
        operations: OperationsSettings? = nil
    ) throws(ShardSelectionError) -> ShardSelection {
        let ids: String?
        let count: String?
        let source: String
        if flagIDs != nil || flagCount != nil {
            (ids, count, source) = (flagIDs, flagCount, "--shard-ids/--shard-count")
        } else if environment[idsVariable] != nil || environment[countVariable] != nil {
            (ids, count, source) = (environment[idsVariable], environment[countVariable], "\(idsVariable)/\(countVariable)")
        } else if let operations, operations.shardIndex != nil || operations.shardCount != nil {
            (ids, count, source) = (operations.shardIndex.map(String.init) ?? "0", operations.shardCount.map(String.init) ?? "1",
                                    "[operations] shard_index/shard_count")
        } else {
            return .unspecified
        }
        guard let count, let total = Int(count.trimmingCharacters(in: .whitespaces)), total >= 1 else {
            throw ShardSelectionError(code: .badCount, message: "\(source): the shard count must be a whole number ≥ 1, got '\(count ?? "")'")
        }
        guard let ids, !ids.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ShardSelectionError(code: .missingIDs, message: "\(source): give the shard ids too (e.g. 0, 0,2, 0-3 or ordinal)")
        }
        let parsed = try parseIDs(ids, environment: environment, source: source)
        if let outside = parsed.first(where: { $0 < 0 || $0 >= total }) {
            throw ShardSelectionError(code: .outOfRange, message: "\(source): shard \(outside) is not within 0..<\(total)")
        }
        return ShardSelection(shardIDs: parsed, shardCount: total)
    }

    private static func parseIDs(
        _ text: String, environment: [String: String], source: String
    ) throws(ShardSelectionError) -> [Int] {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "ordinal" {
            let hostname = environment["HOSTNAME"] ?? ""
            guard let suffix = hostname.split(separator: "-").last, let ordinal = Int(suffix), hostname.contains("-") else {
                throw ShardSelectionError(
                    code: .badID,
                    message: "\(source): 'ordinal' needs HOSTNAME ending in -N, as a StatefulSet pod's does; HOSTNAME is '\(hostname)'")
            }
            return [ordinal]
        }
        var ids: [Int] = []
        for part in trimmed.split(separator: ",") {
            let pieces = part.split(separator: "-", omittingEmptySubsequences: false)
            let bounds = pieces.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            if pieces.count == 1, bounds.count == 1 {
                ids.append(bounds[0])
            } else if pieces.count == 2, bounds.count == 2, bounds[0] <= bounds[1] {
                ids.append(contentsOf: bounds[0]...bounds[1])
            } else {
                throw ShardSelectionError(code: .badID, message: "\(source): '\(part)' is not a shard id or range (e.g. 0, 0,2, 0-3, ordinal)")
            }
        }
        guard Set(ids).count == ids.count else {
            throw ShardSelectionError(code: .outOfRange, message: "\(source): a shard id is listed twice in '\(trimmed)'")
        }
        return ids.sorted()
    }
}

/// A bad shard selection, with the flag or variable to fix.
struct ShardSelectionError: Error, CustomStringConvertible {
    /// What kind of mistake.
    enum Code: String, Sendable {
        /// The count is missing, not a number, or below 1.
        case badCount
        /// A count without ids.
        case missingIDs
        /// An id that does not parse, or `ordinal` without a pod-style HOSTNAME.
        case badID
        /// An id outside `0..<count` or listed twice.
        case outOfRange
    }

    /// What kind of mistake.
    let code: Code
    /// What is wrong and where it came from (flags, variables or config).
    let message: String

    var description: String { message }
}
