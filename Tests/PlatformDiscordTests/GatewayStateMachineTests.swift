import Testing
@testable import PlatformDiscord

@Suite struct GatewayStateMachineTests {
    func p(_ json: String) -> GatewayPayload { try! GatewayPayload.decode(Array(json.utf8)) }
    let hello = #"{"op":10,"d":{"heartbeat_interval":1000}}"#
    let ready = #"{"op":0,"s":1,"t":"READY","d":{"session_id":"S","resume_gateway_url":"wss://resume","user":{"id":"9"},"guilds":[]}}"#

    func readyMachine() -> GatewayStateMachine {
        var m = GatewayStateMachine(gatewayURL: "wss://gw")
        m.opened()
        _ = m.receive(p(hello), now: .zero, jitter: 0.5)
        _ = m.receive(p(ready), now: .zero, jitter: 0.5)
        return m
    }

    @Test func helloIdentifiesWithDefaultIntentsAndJitteredFirstHeartbeat() {
        var m = GatewayStateMachine(gatewayURL: "wss://gw", shard: (1, 4))
        m.opened()
        let actions = m.receive(p(hello), now: .seconds(10), jitter: 0.25)
        #expect(actions == [.send(.identify(intents: GatewayIntents(rawValue: 1 | 512 | 4096 | 32768), shard: [1, 4]))])
        #expect(m.nextHeartbeat == .seconds(10) + .milliseconds(250))
        #expect(m.tick(now: .seconds(10), jitter: 0).isEmpty)
        #expect(m.tick(now: .seconds(10) + .milliseconds(250), jitter: 0) == [.send(.heartbeat(seq: nil))])
        _ = m.receive(p(#"{"op":11}"#), now: .seconds(11), jitter: 0)
        _ = m.receive(p(ready), now: .seconds(11), jitter: 0)
        #expect(m.tick(now: .seconds(11) + .milliseconds(250), jitter: 0) == [.send(.heartbeat(seq: 1))])
        #expect(m.sessionId == "S" && m.resumeGatewayURL == "wss://resume" && m.phase == .ready)
    }

    @Test func opOneGetsImmediateHeartbeat() {
        var m = readyMachine()
        #expect(m.receive(p(#"{"op":1,"d":null}"#), now: .milliseconds(10), jitter: 0) == [.send(.heartbeat(seq: 1))])
    }

    @Test func zombieDetectedWithinTwoIntervalsAndResumed() {
        var m = readyMachine()
        #expect(m.tick(now: .milliseconds(500), jitter: 0) == [.send(.heartbeat(seq: 1))])
        // No ACK arrives.
        #expect(m.tick(now: .milliseconds(1499), jitter: 0).isEmpty)
        let actions = m.tick(now: .milliseconds(1500), jitter: 0)
        #expect(actions == [.close(code: 4000), .connect(url: "wss://resume", after: .zero)])
        #expect(m.closed(code: 4000, now: .milliseconds(1501), jitter: 0).isEmpty)
        m.opened()
        #expect(m.receive(p(hello), now: .seconds(2), jitter: 0) == [.send(.resume(sessionId: "S", seq: 1))])
    }

    @Test func opSevenAndInvalidSession() {
        var m = readyMachine()
        #expect(m.receive(p(#"{"op":7,"d":null}"#), now: .zero, jitter: 0) == [.close(code: 4000), .connect(url: "wss://resume", after: .zero)])
        m.opened()
        #expect(m.receive(p(hello), now: .zero, jitter: 0) == [.send(.resume(sessionId: "S", seq: 1))])
        #expect(m.receive(p(#"{"op":9,"d":true}"#), now: .zero, jitter: 0) == [.close(code: 4000), .connect(url: "wss://resume", after: .zero)])
        m.opened()
        #expect(m.receive(p(hello), now: .zero, jitter: 0) == [.send(.resume(sessionId: "S", seq: 1))])
        let invalid = m.receive(p(#"{"op":9,"d":false}"#), now: .zero, jitter: 0.5)
        #expect(invalid == [.close(code: 4000), .connect(url: "wss://gw", after: .seconds(3))])
        #expect(m.sessionId == nil)
        m.opened()
        #expect(m.receive(p(hello), now: .zero, jitter: 0) == [.send(.identify(intents: .bridgeDefault, shard: [0, 1]))])
    }

    @Test func fatalCloseCodesStopWithoutReconnect() {
        for code in [4004, 4010, 4011, 4012, 4013, 4014] {
            var m = readyMachine()
            let actions = m.closed(code: code, now: .zero, jitter: 0)
            guard case .stop(let error)? = actions.first, actions.count == 1 else {
                Issue.record("code \(code) gave \(actions)"); continue
            }
            #expect(error.code == code)
            #expect(m.phase == .stopped)
            #expect(m.closed(code: nil, now: .seconds(1), jitter: 0).isEmpty)
        }
        #expect(GatewayFatalError.forCloseCode(4004)!.message.contains("token"))
        #expect(GatewayFatalError.forCloseCode(4014)!.message.contains("MESSAGE_CONTENT"))
    }

    @Test func resumableAndNewSessionCloseCodes() {
        for code in [4000, 4001, 4002, 4003, 4005, 4008] {
            var m = readyMachine()
            #expect(m.closed(code: code, now: .zero, jitter: 0) == [.connect(url: "wss://resume", after: .milliseconds(500))])
            #expect(m.sessionId == "S")
        }
        for code in [4007, 4009] {
            var m = readyMachine()
            #expect(m.closed(code: code, now: .zero, jitter: 0) == [.connect(url: "wss://gw", after: .milliseconds(500))])
            #expect(m.sessionId == nil)
        }
    }

    @Test func twentyForcedClosesBackOffWithCapAndKeepResuming() {
        var m = readyMachine()
        var delays: [Duration] = []
        for _ in 0..<20 {
            let actions = m.closed(code: 4000, now: .zero, jitter: 1)
            guard case .connect(let url, let after)? = actions.first else { Issue.record("no reconnect"); return }
            #expect(url == "wss://resume")
            delays.append(after)
            m.opened()
            #expect(m.receive(p(hello), now: .zero, jitter: 0) == [.send(.resume(sessionId: "S", seq: 1))])
        }
        #expect(delays.first == .seconds(1))
        #expect(delays.last == .seconds(60))
        #expect(zip(delays, delays.dropFirst()).allSatisfy { $0 <= $1 })
        _ = m.receive(p(#"{"op":0,"s":2,"t":"RESUMED","d":null}"#), now: .zero, jitter: 0)
        #expect(m.closed(code: 4000, now: .zero, jitter: 1) == [.connect(url: "wss://resume", after: .seconds(1))])
    }
}
