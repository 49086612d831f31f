import ConvertProtocol
import Testing

@testable import Netlink

/// rtnetlink notifications captured for veths a1 (ifindex 2) and a2 (ifindex 3).
@Suite struct RouteNetlinkEventTests {
    func decode(_ bytes: [UInt8]) throws -> RouteNetlinkEvent {
        let message = try #require(try NetlinkDecoder.messages(bytes).first)
        return try #require(try RouteNetlinkEvent.decode(message))
    }

    @Test func linkDownAndUp() throws {
        guard case .link(let down) = try decode(Fixtures.linkDown) else {
            Issue.record("not a link")
            return
        }
        #expect(down.index == 3 && down.name == "a2")
        #expect(!down.isUp && !down.hasCarrier && !down.isRunning && !down.removed)
        guard case .link(let up) = try decode(Fixtures.linkUpNoCarrierYet) else {
            Issue.record("not a link")
            return
        }
        #expect(up.isUp && up.hasCarrier && !up.isRunning)
    }

    @Test func addressRemovedAndAdded() throws {
        #expect(
            try decode(Fixtures.addressRemoved)
                == .address(
                    AddressState(
                        interfaceIndex: 2,
                        address: IPAddress("198.18.0.1")!,
                        prefixLength: 24,
                        removed: true,
                        flags: 0x80
                    )
                )
        )
        guard case .address(let added) = try decode(Fixtures.addressAddedIPv6) else {
            Issue.record("not an address")
            return
        }
        #expect(added.address == IPAddress("2001:db8:1::1")! && added.prefixLength == 64 && !added.removed)
        #expect(added.isUsable && added.flags == 0x82)
    }

    @Test func routes() throws {
        let expected = RouteState(
            table: 254,
            outputInterface: 2,
            destination: IPAddress("198.18.4.0")!,
            destinationPrefixLength: 24,
            gateway: IPAddress("198.18.0.2")!,
            family: 2
        )
        #expect(try decode(Fixtures.routeAddedViaGateway) == .route(expected))
        var removed = expected
        removed.removed = true
        #expect(try decode(Fixtures.routeRemoved) == .route(removed))
        guard case .route(let table1000) = try decode(Fixtures.routeAddedTable1000) else {
            Issue.record("not a route")
            return
        }
        #expect(table1000.table == 1000 && table1000.destination == IPAddress("198.18.5.0")!)
    }

    @Test func otherTypesAreNil() throws {
        let message = try #require(try NetlinkDecoder.messages(Fixtures.endpointAddAck).first)
        #expect(try RouteNetlinkEvent.decode(message) == nil)
    }

    @Test func dumpRequests() throws {
        for (bytes, type, length) in [
            (RouteNetlinkRequest.dumpLinks(sequence: 3), RouteNetlinkMessageType.getLink, 32),
            (RouteNetlinkRequest.dumpAddresses(sequence: 3), RouteNetlinkMessageType.getAddress, 24),
            (RouteNetlinkRequest.dumpRoutes(sequence: 3), RouteNetlinkMessageType.getRoute, 28),
        ] {
            let message = try #require(try NetlinkDecoder.messages(bytes).first)
            #expect(bytes.count == length && message.type == type && message.sequence == 3)
            #expect(message.flags == NetlinkFlags.request | NetlinkFlags.dump)
            #expect(message.payload.allSatisfy { $0 == 0 })
        }
    }
}
