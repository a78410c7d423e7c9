import GRDB

extension StorageError {
    /// Wraps any error from GRDB or SQLite, classifying corrupt and unopenable files.
    init(mapping error: any Error, location: String, while what: String, defaultCode: Code = .database) {
        if let storageError = error as? StorageError {
            self = storageError
            return
        }
        guard let databaseError = error as? DatabaseError else {
            self.init(code: defaultCode, message: "failed while \(what)", location: location,
                      underlying: "\(error)")
            return
        }
        let code: Code
        let message: String
        switch databaseError.resultCode {
        case .SQLITE_NOTADB:
            code = .corrupt
            message = "the file is not an SQLite database (failed while \(what))"
        case .SQLITE_CORRUPT:
            code = .corrupt
            message = "the database file is damaged (failed while \(what))"
        case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_AUTH:
            code = .cannotOpen
            message = "cannot open the database file (failed while \(what))"
        case .SQLITE_READONLY:
            code = .cannotOpen
            message = "the database file is read-only (failed while \(what))"
        default:
            code = defaultCode
            message = "database error while \(what)"
        }
        self.init(code: code, message: message, location: location, underlying: databaseError.description)
    }
}
