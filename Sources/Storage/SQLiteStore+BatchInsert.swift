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
        /// The row's text, bound without SQLite copying it: SQLITE_TRANSIENT made SQLite allocate, copy and free
        /// each of a row's six strings (about 7 % of its insert's CPU).
        private let texts = TextArena()

        init(_ statement: Statement) {
            self.statement = statement
        }

        /// Inserts one message and returns its row id; nil when its platform id was stored already (the insert
        /// did nothing).
        func run(_ message: StoredMessage, channelRowID: Int64, _ db: Database) throws -> Int64? {
            let handle = statement.sqliteStatement
            sqlite3_reset(handle)
            sqlite3_bind_int64(handle, 1, channelRowID)
            texts.startRow()
            texts.bind(message.messageID, 2, handle)
            texts.bind(message.speakerID, 3, handle)
            texts.bind(message.speakerName, 4, handle)
            texts.bind(message.kind.rawValue, 5, handle)
            texts.bind(message.personaName, 6, handle)
            texts.bind(message.text, 7, handle)
            sqlite3_bind_int64(handle, 8, message.timestamp.storageMilliseconds)
            texts.bind(message.replyToID, 9, handle)
            sqlite3_bind_int64(handle, 10, message.isEdited ? 1 : 0)
            let code = sqlite3_step(handle)
            guard code == SQLITE_DONE else {
                let error = DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                                          sql: statement.sql)
                sqlite3_reset(handle)
                sqlite3_clear_bindings(handle)
                throw error
            }
            guard sqlite3_changes(db.sqliteConnection) > 0 else { return nil }
            return sqlite3_last_insert_rowid(db.sqliteConnection)
        }

        /// Leaves the statement reset and unbound, as GRDB expects to find it (and with no pointer into the arena,
        /// which goes with this value).
        func finish() {
            sqlite3_reset(statement.sqliteStatement)
            sqlite3_clear_bindings(statement.sqliteStatement)
        }
    }

    /// One row's strings, copied end to end into a buffer reused for every row of a batch and bound as
    /// SQLITE_STATIC. A bound pointer must stay valid until the row's step is done, so a buffer is never moved or
    /// freed while in use: a string that does not fit starts a larger block, and the full ones are kept until the
    /// arena goes (after `BatchInsert.finish` has unbound the statement). Blocks double, so the kept ones add up to
    /// less than the current one.
    final class TextArena {
        private var base: UnsafeMutableRawPointer
        private var capacity: Int
        private var used = 0
        private var retired: [UnsafeMutableRawPointer] = []

        init(capacity: Int = 4_096) {
            self.capacity = capacity
            base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 1)
        }

        deinit {
            base.deallocate()
            for block in retired { block.deallocate() }
        }

        /// Reuses the buffer from its start for the next row (nothing of the last row is read again once rebound).
        func startRow() {
            used = 0
        }

        /// Copies `text` after the row's earlier strings and binds it (NULL for nil).
        func bind(_ text: String?, _ index: Int32, _ handle: OpaquePointer) {
            guard var text else {
                sqlite3_bind_null(handle, index)
                return
            }
            let count = text.utf8.count
            if used + count > capacity {
                retired.append(base)
                capacity = max(count, capacity * 2)
                base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 1)
                used = 0
            }
            let start = base + used
            text.withUTF8 { bytes in
                if let source = bytes.baseAddress { start.copyMemory(from: source, byteCount: min(bytes.count, count)) }
            }
            used += count
            // A non-null pointer even for an empty string: a null one would bind NULL. SQLITE_STATIC is a null
            // destructor.
            _ = sqlite3_bind_text(handle, index, start.assumingMemoryBound(to: CChar.self), Int32(count), nil)
        }
    }
}
