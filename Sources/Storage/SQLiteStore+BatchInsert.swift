import GRDB
internal import GRDBSQLite

extension SQLiteStore {
    /// Runs the message insert for each message of a history batch, binding its values straight to SQLite.
    ///
    /// GRDB's `execute(arguments:)` boxes every value in an existential array and validates it against the
    /// statement per row; for a flood of chatter that cost as much as SQLite's own insert. The statement is the
    /// same cached one the single-message path runs, and no GRDB transaction observer watches the message
    /// table, so nothing misses these rows.
    struct BatchInsert {
        private let statement: Statement

        init(_ statement: Statement) {
            self.statement = statement
        }

        /// Inserts one message and returns its row id; nil when its platform id was stored already (the insert
        /// did nothing).
        func run(_ message: StoredMessage, channelRowID: Int64, _ db: Database) throws -> Int64? {
            let handle = statement.sqliteStatement
            sqlite3_reset(handle)
            sqlite3_bind_int64(handle, 1, channelRowID)
            Self.bind(message.messageID, 2, handle)
            Self.bind(message.speakerID, 3, handle)
            Self.bind(message.speakerName, 4, handle)
            Self.bind(message.kind.rawValue, 5, handle)
            Self.bind(message.personaName, 6, handle)
            Self.bind(message.text, 7, handle)
            sqlite3_bind_int64(handle, 8, message.timestamp.storageMilliseconds)
            Self.bind(message.replyToID, 9, handle)
            sqlite3_bind_int64(handle, 10, message.isEdited ? 1 : 0)
            let code = sqlite3_step(handle)
            guard code == SQLITE_DONE else {
                let error = DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                                          sql: statement.sql)
                sqlite3_reset(handle)
                throw error
            }
            guard sqlite3_changes(db.sqliteConnection) > 0 else { return nil }
            return sqlite3_last_insert_rowid(db.sqliteConnection)
        }

        /// Leaves the statement reset and unbound, as GRDB expects to find it.
        func finish() {
            sqlite3_reset(statement.sqliteStatement)
            sqlite3_clear_bindings(statement.sqliteStatement)
        }

        /// SQLite copies the text (SQLITE_TRANSIENT), so the string's buffer need not outlive the call.
        private static func bind(_ text: String?, _ index: Int32, _ handle: OpaquePointer) {
            guard var text else {
                sqlite3_bind_null(handle, index)
                return
            }
            text.withUTF8 { bytes in
                guard let base = bytes.baseAddress else {
                    // An empty string may have no buffer; a null pointer would bind NULL.
                    sqlite3_bind_text(handle, index, "", 0, transient)
                    return
                }
                base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                    _ = sqlite3_bind_text(handle, index, $0, Int32(bytes.count), transient)
                }
            }
        }

        /// SQLite's SQLITE_TRANSIENT destructor, a C macro Swift cannot import.
        private static var transient: sqlite3_destructor_type { unsafeBitCast(-1, to: sqlite3_destructor_type.self) }
    }
}
