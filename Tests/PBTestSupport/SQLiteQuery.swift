import Foundation

/// The first column of the first row of `sql` on the SQLite database at `path`, through Python's sqlite3 (a
/// bridge process may still have the database open); empty when there is no row.
public func sqliteScalar(_ path: String, _ sql: String) async throws -> String {
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("pb-sql-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: out) }
    let python = try TestServer(executable: "/bin/sh", arguments: [
        "-c", "out=$1; shift; exec python3 -c \"$@\" > \"$out\"", "sh", out,
        "import sqlite3,sys\nrow=sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()\nprint('' if row is None else row[0])",
        path, sql,
    ])
    guard try await python.waitForExit(timeout: .seconds(60)) == 0 else { throw TestServerError("sqlite3 failed: \(python.output)") }
    return try String(contentsOfFile: out, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
}
