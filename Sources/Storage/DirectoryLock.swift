#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Runs `body` holding an exclusive `flock` on the directory of the database at `path`, so
/// that stores opening the same file (in this or another process) take turns.
func withDirectoryLock<T>(for path: String, _ body: () throws -> T) throws -> T {
    let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
    let descriptor = open(directory, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
        throw StorageError(code: .cannotOpen, message: "cannot open the database directory \(directory)",
                           location: path, underlying: String(cString: strerror(errno)))
    }
    defer { close(descriptor) }
    while flock(descriptor, LOCK_EX) != 0 {
        guard errno == EINTR else {
            throw StorageError(code: .cannotOpen, message: "cannot lock the database directory \(directory)",
                               location: path, underlying: String(cString: strerror(errno)))
        }
    }
    defer { flock(descriptor, LOCK_UN) }
    return try body()
}
