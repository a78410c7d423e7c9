import Foundation
import Synchronization

/// Removes an SQLite database and the write-ahead log and shared-memory files SQLite keeps beside it.
public func removeDatabaseFiles(atPath path: String) {
    for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
}

/// Paths removed when the test process exits: for what lives as long as the process (a server shared by every
/// test), which no test's `defer` can remove.
private let removedAtExit = Mutex<[String]>([])

/// Removes `path` (a file or a directory) when the test process exits.
public func removeAtExit(_ path: String) {
    let first = removedAtExit.withLock { paths in
        paths.append(path)
        return paths.count == 1
    }
    if first {
        atexit {
            for path in removedAtExit.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: path) }
        }
    }
}
