import Foundation

/// The path of an executable this package builds (next to the test bundle), or an error naming
/// the build command when it is missing.
public func builtExecutable(_ name: String) throws -> String {
    let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for directory in [bundleDirectory, bundleDirectory.deletingLastPathComponent()] {
        let candidate = directory.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw TestServerError("the executable '\(name)' was not built next to the tests in \(bundleDirectory.path); "
        + "run `swift build --build-tests` first")
}
