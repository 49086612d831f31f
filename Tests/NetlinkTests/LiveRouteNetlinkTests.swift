import ConvertProtocol
import Glibc
import Testing

@testable import Netlink

/// rtnetlink dumps and notifications against the running kernel, inside a throwaway namespace.
@Suite(.serialized, .enabled(if: TestNamespace.isRoot, "needs root for ip netns and setns"))
struct LiveRouteNetlinkTests {
    @Test func linkDownAndAddressDeletionAreReported() throws {
        let namespace = try TestNamespace(role: "rt")
        defer { namespace.delete() }
        let name = namespace.name
        try shell("ip -n \(name) link add v0 type veth peer name v1")
        try shell("ip -n \(name) link set v0 up && ip -n \(name) link set v1 up")
        try shell("ip -n \(name) addr add 198.18.1.1/24 dev v0")

        let (dumped, events) = try namespace.run { () -> ([RouteNetlinkEvent], [RouteNetlinkEvent]) in
            let requests = try NetlinkSocket(.route)
            let notifications = try NetlinkSocket(.route)
            try notifications.joinGroup(RouteNetlinkGroup.link)
            try notifications.joinGroup(RouteNetlinkGroup.ipv4Address)
            var dumped: [RouteNetlinkEvent] = []
            for request in [
                RouteNetlinkRequest.dumpLinks(sequence: requests.nextSequence()),
                RouteNetlinkRequest.dumpAddresses(sequence: requests.nextSequence()),
                RouteNetlinkRequest.dumpRoutes(sequence: requests.nextSequence()),
            ] {
                for message in try requests.request(request, operation: "rtnetlink dump") {
                    if let event = try? RouteNetlinkEvent.decode(message) { dumped.append(event) }
                }
            }
            _ = try? shell("ip -n \(name) link set v0 down")
            _ = try? shell("ip -n \(name) addr del 198.18.1.1/24 dev v0")
            var events: [RouteNetlinkEvent] = []
            for _ in 0..<50 {
                for message in try notifications.receive(timeoutMilliseconds: 100) {
                    if let event = try? RouteNetlinkEvent.decode(message) { events.append(event) }
                }
                let sawAddress = events.contains {
                    if case .address(let state) = $0 { return state.removed }
                    return false
                }
                if sawAddress { break }
            }
            return (dumped, events)
        }

        let links = dumped.compactMap { if case .link(let state) = $0 { state } else { nil } }
        let v0 = try #require(links.first { $0.name == "v0" })
        #expect(v0.isUp && v0.hasCarrier && v0.isRunning)
        #expect(
            dumped.contains {
                if case .address(let state) = $0 {
                    state.address == IPAddress("198.18.1.1")! && state.prefixLength == 24
                } else {
                    false
                }
            }
        )
        #expect(
            dumped.contains {
                if case .route(let route) = $0 {
                    route.destination == IPAddress("198.18.1.0")! && route.outputInterface == v0.index
                        && route.table == 254
                } else {
                    false
                }
            }
        )

        let down = events.compactMap { if case .link(let state) = $0, state.index == v0.index { state } else { nil } }
        #expect(down.contains { !$0.isUp && !$0.hasCarrier && !$0.removed })
        #expect(
            events.contains {
                if case .address(let state) = $0 {
                    state.removed && state.address == IPAddress("198.18.1.1")! && state.interfaceIndex == v0.index
                } else {
                    false
                }
            }
        )
    }

    @Test func overrunThrowsENOBUFS() throws {
        let namespace = try TestNamespace(role: "rt")
        defer { namespace.delete() }
        let name = namespace.name
        let errno = try namespace.run { () -> Int32? in
            let socket = try NetlinkSocket(.route, receiveBufferSize: 0)
            try socket.joinGroup(RouteNetlinkGroup.link)
            try shell("for i in 0 1 2 3 4 5 6 7; do ip -n \(name) link add o$i type veth peer name p$i; done")
            do throws(NetlinkError) {
                for _ in 0..<20 { _ = try socket.receive(timeoutMilliseconds: 50) }
                return nil
            } catch {
                return error.errno
            }
        }
        #expect(errno == ENOBUFS)
    }

    @Test func receiveTimesOutWithNothing() throws {
        let namespace = try TestNamespace(role: "rt")
        defer { namespace.delete() }
        let count = try namespace.run {
            let socket = try NetlinkSocket(.route)
            try socket.joinGroup(RouteNetlinkGroup.ipv6Route)
            return try socket.receive(timeoutMilliseconds: 50).count
        }
        #expect(count == 0)
    }
}
