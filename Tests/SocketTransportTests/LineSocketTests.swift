import PBTestSupport
import Testing
@testable import SocketTransport

@Suite("LineSocket over libwebsockets raw role")
struct LineSocketTests {
    private func start(tls: Bool) async throws -> (TestServer, Int) {
        try await startPythonServer("line_server.py", arguments: tls ? ["--tls"] : [])
    }

    private func nextLine(_ iterator: inout AsyncThrowingStream<[UInt8], any Error>.Iterator) async throws -> [UInt8] {
        guard let line = try await iterator.next() else { throw TimedOut(what: "line stream ended early") }
        return line
    }

    @Test("lines split across reads and several lines in one read come out right")
    func splitAndBatch() async throws {
        let (server, port) = try await start(tls: false)
        defer { server.stop() }
        try await withTimeout(20, "split and batch") {
            let socket = try await LineSocket.connect(host: "127.0.0.1", port: port, logger: testLogger)
            var iterator = socket.lines.makeAsyncIterator()
            try await socket.send(Array("SPLIT\r\n".utf8))
            #expect(try await nextLine(&iterator) == Array("hello world".utf8))
            #expect(try await nextLine(&iterator) == Array("second line".utf8))
            try await socket.send(Array("BATCH\n".utf8))
            #expect(try await nextLine(&iterator) == Array("one".utf8))
            #expect(try await nextLine(&iterator) == Array("two".utf8))
            #expect(try await nextLine(&iterator) == Array("three".utf8))
            #expect(try await nextLine(&iterator) == [])
            await socket.close()
        }
    }

    @Test("invalid UTF-8 passes through untouched")
    func invalidUTF8() async throws {
        let (server, port) = try await start(tls: false)
        defer { server.stop() }
        try await withTimeout(20, "binary line") {
            let socket = try await LineSocket.connect(host: "127.0.0.1", port: port, logger: testLogger)
            var iterator = socket.lines.makeAsyncIterator()
            try await socket.send(Array("BINARY\r\n".utf8))
            #expect(try await nextLine(&iterator) == [0x63, 0x61, 0x66, 0xE9, 0x20, 0xFF, 0xFE, 0x00, 0xC3, 0x28])
            let latin1: [UInt8] = [0x50, 0x52, 0x49, 0x56, 0x4D, 0x53, 0x47, 0x20, 0x23, 0xE9, 0xE8, 0x20, 0x3A, 0xFC]
            try await socket.send(latin1 + [0x0D, 0x0A])
            #expect(try await nextLine(&iterator) == latin1)
            await socket.close()
        }
    }

    @Test("TLS line socket works with the test CA, fails verification without it, works unverified")
    func tls() async throws {
        let (server, port) = try await start(tls: true)
        defer { server.stop() }
        for host in ["localhost", "127.0.0.1"] {
            try await withTimeout(20, "tls lines via \(host)") {
                let socket = try await LineSocket.connect(
                    host: host, port: port, configuration: .init(useTLS: true, caFile: testCAFile),
                    logger: testLogger)
                var iterator = socket.lines.makeAsyncIterator()
                try await socket.send(Array("PING :tls\r\nBATCH\r\n".utf8))
                #expect(try await nextLine(&iterator) == Array("PING :tls".utf8))
                #expect(try await nextLine(&iterator) == Array("one".utf8))
                try await socket.send(Array("BINARY\r\nLONG 60000\n".utf8))
                #expect(try await nextLine(&iterator) == Array("two".utf8))
                #expect(try await nextLine(&iterator) == Array("three".utf8))
                #expect(try await nextLine(&iterator) == [])
                #expect(try await nextLine(&iterator) == [0x63, 0x61, 0x66, 0xE9, 0x20, 0xFF, 0xFE, 0x00, 0xC3, 0x28])
                #expect(try await nextLine(&iterator) == [UInt8](repeating: 0x61, count: 60_000))
                await socket.close()
            }
        }
        let failure = try await withTimeout(20, "tls without CA") { () -> LineSocketError? in
            do {
                let socket = try await LineSocket.connect(
                    host: "localhost", port: port, configuration: .init(useTLS: true), logger: testLogger)
                await socket.close()
                return nil
            } catch let error as LineSocketError {
                return error
            }
        }
        #expect(failure?.code == .tlsFailure, "\(String(describing: failure))")
        try await withTimeout(20, "tls unverified") {
            let socket = try await LineSocket.connect(
                host: "127.0.0.1", port: port, configuration: .init(useTLS: true, verifyTLS: false), logger: testLogger)
            var iterator = socket.lines.makeAsyncIterator()
            try await socket.send(Array("hello\n".utf8))
            #expect(try await nextLine(&iterator) == Array("hello".utf8))
            await socket.close()
        }
    }

    @Test("an over-long line is a lineTooLong error; a peer close is connectionDropped")
    func errors() async throws {
        let (server, port) = try await start(tls: false)
        defer { server.stop() }
        let tooLong = try await withTimeout(20, "long line") { () -> LineSocketError? in
            let socket = try await LineSocket.connect(
                host: "127.0.0.1", port: port, configuration: .init(maxLineLength: 1000), logger: testLogger)
            try await socket.send(Array("LONG 1000\r\nLONG 1001\r\n".utf8))
            var lengths: [Int] = []
            do {
                for try await line in socket.lines { lengths.append(line.count) }
                return nil
            } catch let error as LineSocketError {
                #expect(lengths == [1000])
                return error
            }
        }
        #expect(tooLong?.code == .lineTooLong)
        let dropped = try await withTimeout(20, "peer close") { () -> LineSocketError? in
            let socket = try await LineSocket.connect(host: "127.0.0.1", port: port, logger: testLogger)
            try await socket.send(Array("QUIT\n".utf8))
            do {
                for try await _ in socket.lines {}
                return nil
            } catch let error as LineSocketError {
                return error
            }
        }
        #expect(dropped?.code == .connectionDropped)
    }
}
