import Foundation
@testable import PlatformMatrix
import Testing

/// The appservice's pure parts: registration YAML, token files, the transaction ledger, routes and token checks.
struct MatrixAppserviceUnitTests {
    static let registration = MatrixRegistration(
        id: "persona-bridge", url: "http://127.0.0.1:29340", asToken: "AS\"tok", hsToken: "hs-tok", senderLocalpart: "personabridge",
        userPrefix: "pb_", serverName: "example.org")

    @Test func registrationYAMLHasEveryFieldAndAnExclusiveEscapedNamespace() {
        let yaml = Self.registration.yaml
        #expect(yaml.contains("\nid: \"persona-bridge\"\n"))
        #expect(yaml.contains("\nurl: \"http://127.0.0.1:29340\"\n"))
        #expect(yaml.contains("\nas_token: \"AS\\\"tok\"\n"))
        #expect(yaml.contains("\nhs_token: \"hs-tok\"\n"))
        #expect(yaml.contains("\nsender_localpart: \"personabridge\"\n"))
        #expect(yaml.contains("    - exclusive: true\n      regex: \"@pb_.*:example\\\\.org\"\n"))
        #expect(Self.registration.userRegex == "@pb_.*:example\\.org")
        #expect(!yaml.contains("rate_limited"))
        var optedOut = Self.registration
        optedOut.disableRateLimits = true
        #expect(optedOut.yaml.hasSuffix("rate_limited: false\n"))
    }

    @Test func registrationRegexMatchesPersonaUsersOnly() throws {
        let regex = try NSRegularExpression(pattern: "^" + Self.registration.userRegex + "$")
        func matches(_ user: String) -> Bool {
            regex.firstMatch(in: user, range: NSRange(user.startIndex..., in: user)) != nil
        }
        #expect(matches("@pb_aria:example.org"))
        #expect(!matches("@pb_aria:exampleXorg"))
        #expect(!matches("@alice:example.org"))
        #expect(!matches("@personabridge:example.org"))
    }

    @Test func tokensAreGeneratedOnceWithOwnerOnlyFilesAndReusedAfterwards() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pb-as-tokens-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let asPath = dir.appendingPathComponent("as_token").path
        let hsPath = dir.appendingPathComponent("hs_token").path
        let first = try MatrixAppserviceTokens.loadOrCreate(asTokenPath: asPath, hsTokenPath: hsPath)
        #expect(first.created)
        #expect(first.asToken.count == 64 && first.hsToken.count == 64 && first.asToken != first.hsToken)
        for path in [asPath, hsPath] {
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
        let second = try MatrixAppserviceTokens.loadOrCreate(asTokenPath: asPath, hsTokenPath: hsPath)
        #expect(!second.created)
        #expect(second.asToken == first.asToken && second.hsToken == first.hsToken)
        try FileManager.default.removeItem(atPath: hsPath)
        #expect(throws: MatrixAppserviceTokenError.self) {
            try MatrixAppserviceTokens.loadOrCreate(asTokenPath: asPath, hsTokenPath: hsPath)
        }
        #expect(MatrixAppserviceTokens.generate() != MatrixAppserviceTokens.generate())
    }

    @Test func ledgerHandlesEachTransactionOnce() {
        var ledger = AppserviceTransactionLedger(memory: 2)
        #expect(ledger.begin("t1") == .handle)
        #expect(ledger.begin("t1") == .inProgress)
        ledger.finished("t1")
        #expect(ledger.begin("t1") == .alreadyHandled)
        // A failure before anything was delivered leaves it to be handled on the retry.
        #expect(ledger.begin("t2") == .handle)
        ledger.failed("t2")
        #expect(!ledger.isRunning("t2"))
        #expect(ledger.begin("t2") == .handle)
        ledger.finished("t2")
        #expect(ledger.begin("t3") == .handle)
        ledger.finished("t3")
        // Beyond its memory the oldest id is forgotten here; the platform finds it in the store instead.
        #expect(ledger.begin("t1") == .handle)
        #expect(ledger.begin("t3") == .alreadyHandled)
    }

    @Test func routesAndCredentials() {
        #expect(MatrixAppserviceRoute(method: "PUT", path: "/_matrix/app/v1/transactions/42") == .transaction("42"))
        #expect(MatrixAppserviceRoute(method: "PUT", path: "/transactions/42") == .transaction("42"))
        #expect(MatrixAppserviceRoute(method: "GET", path: "/_matrix/app/v1/users/%40pb_aria%3Aexample.org") == .user("@pb_aria:example.org"))
        #expect(MatrixAppserviceRoute(method: "GET", path: "/_matrix/app/v1/rooms/%23x%3Ay") == .room("#x:y"))
        #expect(MatrixAppserviceRoute(method: "POST", path: "/_matrix/app/v1/ping") == .ping)
        #expect(MatrixAppserviceRoute(method: "GET", path: "/_matrix/app/v1/transactions/42") == .unknown)
        #expect(MatrixAppserviceRoute(method: "PUT", path: "/_matrix/app/v1/transactions/") == .unknown)
        #expect(MatrixAppserviceRoute(method: "GET", path: "/metrics") == .unknown)
        #expect(MatrixAppserviceRoute.credential(authorization: "Bearer abc", accessTokenParameter: "zzz") == "abc")
        #expect(MatrixAppserviceRoute.credential(authorization: nil, accessTokenParameter: "zzz") == "zzz")
        #expect(MatrixAppserviceRoute.credential(authorization: "Basic abc", accessTokenParameter: nil) == nil)
        #expect(MatrixAppserviceRoute.tokensMatch("secret", "secret"))
        #expect(!MatrixAppserviceRoute.tokensMatch("secreT", "secret"))
        #expect(!MatrixAppserviceRoute.tokensMatch("secret1", "secret"))
        #expect(!MatrixAppserviceRoute.tokensMatch("", "secret"))
    }

    @Test func personaUsersAndNamespace() {
        let config = MatrixAppserviceConfiguration(serverName: "example.org", asToken: "a", hsToken: "h",
                                                   personas: [.init(name: "Aria", displayName: "Aria")])
        #expect(config.userID(forPersona: "Aria") == "@pb_aria:example.org")
        #expect(config.userID(forPersona: "Old Bard!") == "@pb_old_bard_:example.org")
        #expect(config.persona(forUser: "@pb_aria:example.org")?.displayName == "Aria")
        #expect(config.inNamespace("@pb_x:example.org"))
        #expect(!config.inNamespace("@pb_x:other.org"))
        var rooms = MatrixRooms(ownUserID: config.senderUserID)
        rooms.ownUserPrefix = "@pb_"
        #expect(rooms.isOwn("@pb_aria:example.org") && rooms.isOwn("@personabridge:example.org"))
        #expect(!rooms.isOwn("@pb_aria:evil.org") && !rooms.isOwn("@alice:example.org"))
    }
}
