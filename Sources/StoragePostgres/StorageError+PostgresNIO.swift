import Storage
internal import PostgresNIO

extension StorageError {
    /// Maps a postgres-nio error to a `StorageError` without the query's bound values or the
    /// password: only the server's message, SQLSTATE and postgres-nio's error code are kept.
    init(mapping error: any Error, location: String?, while what: String, defaultCode: Code = .database) {
        if let storageError = error as? StorageError {
            self = storageError
            return
        }
        guard let psqlError = error as? PSQLError else {
            // Pool and NIO errors (e.g. the pool's circuit breaker after failed connects) carry no
            // query or credentials, so their own text is kept.
            self.init(code: defaultCode, message: "\(what) failed", location: location, underlying: "\(type(of: error)): \(error)")
            return
        }
        var detail = "\(psqlError.code)"
        if let info = psqlError.serverInfo {
            let state = info[.sqlState] ?? "?"
            detail = "SQLSTATE \(state): \(info[.message] ?? "")"
            self.init(code: Self.code(forSQLState: state, default: defaultCode), message: "\(what) failed",
                      location: location, underlying: detail)
            return
        }
        if let underlying = psqlError.underlying {
            detail += " (\(type(of: underlying)): \(underlying))"
        }
        let connectionCodes: Set<PSQLError.Code> = [
            .connectionError, .serverClosedConnection, .sslUnsupported, .failedToAddSSLHandler,
            .unsupportedAuthMechanism, .authMechanismRequiresPassword, .saslError,
        ]
        let code: Code = connectionCodes.contains(psqlError.code) && defaultCode == .database ? .cannotOpen : defaultCode
        self.init(code: code, message: "\(what) failed", location: location, underlying: detail)
    }

    /// Login, missing-database and connection SQLSTATE classes mean the store cannot be opened.
    private static func code(forSQLState state: String, default defaultCode: Code) -> Code {
        if state.hasPrefix("28") || state.hasPrefix("08") || state == "3D000" { return .cannotOpen }
        if state.hasPrefix("XX") { return .corrupt }
        return defaultCode
    }
}
