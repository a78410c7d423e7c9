import GRDB

extension SQLiteStore {
    /// The value of a pragma such as `journal_mode` on the writer connection, whose settings
    /// decide durability (for tests and diagnostics).
    func writerPragma(_ name: String) async throws -> String? {
        precondition(name.allSatisfy { $0.isLetter || $0 == "_" }, "not a pragma name: \(name)")
        try checkOpen()
        return try await writer.writeWithoutTransaction { db in
            try String.fetchOne(db, sql: "PRAGMA \(name)")
        }
    }

    /// Every schema object as `type name: sql`, sorted, to compare schemas.
    func schemaSnapshot() async throws -> [String] {
        try await read("reading the schema") { db in
            try Row.fetchAll(db, sql: "SELECT type, name, sql FROM sqlite_master ORDER BY type, name").map { row in
                let type: String = row["type"]
                let name: String = row["name"]
                let sql: String? = row["sql"]
                return "\(type) \(name): \(sql ?? "")"
            }
        }
    }

    /// Runs raw SQL in a write transaction, for tests that need to age or damage a database.
    func executeRaw(_ sql: String) async throws {
        try await write("executing raw SQL") { db in try db.execute(sql: sql) }
    }
}
