import Foundation

/// A throwaway directory for writing config and persona files in tests.
struct TempConfigDirectory {
    let path: String

    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("pb-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path + "/personas", withIntermediateDirectories: true)
    }

    @discardableResult
    func write(_ relative: String, _ text: String) throws -> String {
        let file = (path as NSString).appendingPathComponent(relative)
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// A minimal valid persona file body.
    static func persona(_ name: String) -> String {
        """
        name = "\(name)"
        display_name = "\(name.capitalized)"
        character = "You are \(name)."
        """
    }
}
