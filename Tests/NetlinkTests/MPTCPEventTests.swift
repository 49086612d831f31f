import ConvertProtocol
import Testing

@testable import Netlink

/// Events captured from a real connection 198.18.0.1 -> 198.18.0.2:5000 plus a subflow 198.18.2.1 (id 5) ->
/// 198.18.2.2:5000; client token 0xecbf4a78, server token 0x7100bf2b.
@Suite struct MPTCPEventTests {
    let family: UInt16 = 0x1C
    let client = IPAddress("198.18.0.1")!
    let server = IPAddress("198.18.0.2")!
    let client2 = IPAddress("198.18.2.1")!
    let server2 = IPAddress("198.18.2.2")!

    func decode(_ bytes: [UInt8]) throws -> MPTCPEvent {
        let message = try #require(try NetlinkDecoder.messages(bytes).first)
        return try #require(try MPTCPEvent.decode(message, familyID: family))
    }

    @Test func clientCreatedAndEstablished() throws {
        for (fixture, kind) in [
            (Fixtures.eventCreated, MPTCPEventKind.created), (Fixtures.eventEstablished, .established),
        ] {
            let expected = MPTCPEvent(
                kind: kind,
                token: 0xECBF_4A78,
                localAddress: client,
                remoteAddress: server,
                localPort: 42786,
                remotePort: 5000,
                localID: 0,
                remoteID: 0,
                serverSide: false
            )
            #expect(try decode(fixture) == expected)
        }
    }

    @Test func serverCreatedCarriesServerSide() throws {
        let event = try decode(Fixtures.serverEventCreated)
        #expect(event.kind == .created && event.token == 0x7100_BF2B)
        #expect(event.serverSide == true && event.flags == 2)
        #expect(event.localAddress == server && event.localPort == 5000)
        #expect(event.remoteAddress == client && event.remotePort == 42786)
    }

    @Test func subflowEstablishedAndClosed() throws {
        for (fixture, kind) in [
            (Fixtures.eventSubflowEstablished, MPTCPEventKind.subflowEstablished),
            (Fixtures.eventSubflowClosed, .subflowClosed),
        ] {
            let expected = MPTCPEvent(
                kind: kind,
                token: 0xECBF_4A78,
                localAddress: client2,
                remoteAddress: server2,
                localPort: 32921,
                remotePort: 5000,
                localID: 5,
                remoteID: 1,
                backup: false
            )
            #expect(try decode(fixture) == expected)
        }
    }

    @Test func subflowPriorityOnThePeer() throws {
        let event = try decode(Fixtures.serverEventSubflowPriority)
        #expect(event.kind == .subflowPriority && event.backup == true)
        #expect(event.localID == 1 && event.remoteID == 5 && event.remotePort == 32921)
    }

    @Test func subflowClosedWithError() throws {
        let event = try decode(Fixtures.serverEventSubflowClosedWithError)
        #expect(event.kind == .subflowClosed && event.error == 111)
        #expect(event.remoteAddress == client2 && event.localPort == 40519)
    }

    @Test func announcedAndRemoved() throws {
        #expect(
            try decode(Fixtures.serverEventAnnounced)
                == MPTCPEvent(
                    kind: .announced,
                    token: 0x7100_BF2B,
                    remoteAddress: client2,
                    remotePort: 42786,
                    remoteID: 5
                )
        )
        #expect(try decode(Fixtures.serverEventRemoved) == MPTCPEvent(kind: .removed, token: 0x7100_BF2B, remoteID: 5))
    }

    @Test func closedAndListenerClosed() throws {
        #expect(try decode(Fixtures.eventClosed) == MPTCPEvent(kind: .closed, token: 0xECBF_4A78))
        #expect(
            try decode(Fixtures.serverEventListenerClosed)
                == MPTCPEvent(kind: .listenerClosed, localAddress: IPAddress("0.0.0.0")!, localPort: 5000)
        )
    }

    @Test func otherFamiliesAndUnknownCommandsAreNil() throws {
        let message = try #require(try NetlinkDecoder.messages(Fixtures.eventClosed).first)
        #expect(try MPTCPEvent.decode(message, familyID: 0x1D) == nil)
        var unknown = message
        unknown.payload[0] = 200
        #expect(try MPTCPEvent.decode(unknown, familyID: family) == nil)
    }

    @Test func wrongAttributeSizeThrows() throws {
        var bytes = Fixtures.eventSubflowEstablished
        // The SPORT attribute (type 9, 2 bytes) grown to a 4-byte attribute would overlap DPORT: shrink to 1.
        let index = try #require(
            (20..<bytes.count - 4).first { bytes[$0 + 2] == 9 && bytes[$0 + 3] == 0 && bytes[$0] == 6 }
        )
        bytes[index] = 5
        let message = try #require(try NetlinkDecoder.messages(bytes).first)
        #expect(throws: NetlinkDecodingError.self) { try MPTCPEvent.decode(message, familyID: family) }
    }
}
