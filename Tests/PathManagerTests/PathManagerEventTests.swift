import ConvertProtocol
import Logging
import Netlink
import Testing

@testable import PathManager

#if canImport(Glibc)
import Glibc
#endif

@Suite("PathManagerService: the kernel's MPTCP events build the connection table")
struct PathManagerEventTests {
    /// A service on the three-uplink plan with every path up and its IPv4 source set, without sockets.
    func service(plan: PathPlan = threeUplinks) -> PathManagerService {
        let board = PathBoard(plan: plan)
        let service = PathManagerService(board: board, logger: Logger(label: "test"))
        for (index, text) in ["198.18.1.1", "198.18.2.1", "198.18.3.1"].enumerated() {
            service.statuses[index] = PathStatus(up: true, v4: IPAddress(text))
            board.setSource(of: index, ipv6: false, to: IPAddress(text))
            board.setUp(index, true)
        }
        return service
    }

    let converter = IPAddress("198.18.1.2")

    @Test("joins wait in due order when policies wait differently long (join_after)")
    func joinsWaitInDueOrder() {
        let plan = PathPlan(
            mode: .relay,
            paths: threeUplinks.paths,
            policies: [
                SubflowPolicy(name: "slow", paths: [0, 1], joinAfterMilliseconds: 5_000),
                SubflowPolicy(name: "fast", paths: [0, 1], joinAfterMilliseconds: 0),
            ]
        )
        let service = service(plan: plan)
        for (token, (port, policy)) in [(UInt32(1), (UInt16(40000), 0)), (2, (40001, 1))] {
            service.board.register(ConnectionKey(path: 0, ipv6: false, port: port), policy: policy)
            _ = service.apply(
                MPTCPEvent(
                    kind: .created,
                    token: token,
                    localAddress: IPAddress("198.18.1.1"),
                    remoteAddress: converter,
                    localPort: port,
                    remotePort: 8443
                )
            )
            _ = service.apply(MPTCPEvent(kind: .established, token: token))
        }
        #expect(service.joinsWaiting.map(\.token) == [2, 1], "the one with no wait first")
    }

    @Test("subflows to announced addresses: matched by path and address, failures held off per lane")
    func announcedLanes() {
        let plan = PathPlan(
            mode: .relay,
            paths: threeUplinks.paths,
            policies: [SubflowPolicy(name: "bulk", paths: [0, 1], joinAnnounced: [IPNetwork("198.18.9.0/24")!])]
        )
        let service = service(plan: plan)
        service.board.register(ConnectionKey(path: 0, ipv6: false, port: 40000), policy: 0)
        let created = MPTCPEvent(
            kind: .created,
            token: 4,
            localAddress: IPAddress("198.18.1.1"),
            remoteAddress: converter,
            localPort: 40000,
            remotePort: 8443
        )
        _ = service.apply(created)
        _ = service.apply(MPTCPEvent(kind: .established, token: 4))
        var announced = MPTCPEvent(kind: .announced, token: 4, remoteAddress: IPAddress("198.18.9.2"))
        announced.remoteID = 3
        #expect(service.apply(announced), "a policy with join_announced re-plans on an announcement")
        // As after our SUBFLOW_CREATEs on B: to the initial address and to the announced one.
        service.connections[4]?.creating = 1 << 1
        service.connections[4]?.creatingExtra = [JoinLane(path: 1, target: 3)]
        var failed = created
        failed.kind = .subflowClosed
        failed.localAddress = IPAddress("198.18.2.1")
        failed.localPort = 40010
        failed.remoteAddress = IPAddress("198.18.9.2")
        #expect(service.apply(failed))
        #expect(service.connections[4]?.creatingExtra.isEmpty == true)
        #expect(service.connections[4]?.creating == 1 << 1, "the main join on B is still in flight")
        #expect(service.laneHoldOff[4]?[JoinLane(path: 1, target: 3)] != nil && service.holdOff[4]?[1] == nil)
        // A late event for an address nobody asked for changes nothing and is refused.
        var stray = failed
        stray.kind = .subflowEstablished
        stray.remoteAddress = IPAddress("198.18.9.77")
        #expect(!service.apply(stray))
        #expect(service.connections[4]?.creating == 1 << 1)
        var joined = failed
        joined.kind = .subflowEstablished
        joined.remoteAddress = converter
        #expect(service.apply(joined))
        #expect(service.connections[4]?.creating == 0 && service.connections[4]?.subflows.count == 2)
    }

    @Test("only connections a worker registered are managed; subflows are added, re-flagged and removed")
    func lifecycle() {
        let service = service()
        let created = MPTCPEvent(
            kind: .created,
            token: 9,
            localAddress: IPAddress("198.18.1.1"),
            remoteAddress: converter,
            localPort: 40000,
            remotePort: 8443
        )
        #expect(!service.apply(created))
        #expect(service.connections.isEmpty, "nobody registered 198.18.1.1:40000")

        service.board.register(ConnectionKey(path: 0, ipv6: false, port: 40000), policy: 1)
        #expect(!service.apply(created))
        #expect(service.connections[9]?.policy == 1 && service.connections[9]?.subflows.count == 1)
        #expect(service.apply(MPTCPEvent(kind: .established, token: 9)))
        #expect(service.connections[9]?.established == true)
        #expect(service.joinsWaiting.map(\.token) == [9], "its joins wait for the join delay")

        var joined = created
        joined.kind = .subflowEstablished
        joined.localAddress = IPAddress("198.18.3.1")
        joined.localPort = 40002
        joined.backup = true
        service.connections[9]?.creating |= 1 << 2  // as after our SUBFLOW_CREATE on C
        #expect(service.apply(joined))
        #expect(service.connections[9]?.creating == 0)
        #expect(service.connections[9]?.subflows.map(\.path) == [0, 2])
        #expect(service.connections[9]?.subflows.last?.backup == true)

        var priority = joined
        priority.kind = .subflowPriority
        priority.backup = false
        _ = service.apply(priority)
        #expect(service.connections[9]?.subflows.last?.backup == false)

        var closed = joined
        closed.kind = .subflowClosed
        #expect(service.apply(closed))
        #expect(service.connections[9]?.subflows.map(\.path) == [0])
        #expect(service.holdOff[9]?[2] != nil, "a subflow lost on an up path is retried later, not at once")

        _ = service.apply(MPTCPEvent(kind: .closed, token: 9))
        #expect(service.connections[9] == nil && service.holdOff[9] == nil)
    }

    @Test("a join the path manager did not ask for is destroyed and counted, never kept")
    func unsolicitedJoins() {
        let service = service()
        service.board.register(ConnectionKey(path: 0, ipv6: false, port: 40000), policy: 1)
        var event = MPTCPEvent(
            kind: .created,
            token: 5,
            localAddress: IPAddress("198.18.1.1"),
            remoteAddress: converter,
            localPort: 40000,
            remotePort: 8443
        )
        _ = service.apply(event)
        _ = service.apply(MPTCPEvent(kind: .established, token: 5))
        event.kind = .subflowEstablished
        // The peer's join to our address on A (a second subflow on A), to B before we opened one there, and
        // to an address that is no path at all.
        for (address, port) in [("198.18.1.1", UInt16(40000)), ("198.18.2.1", 40001), ("198.18.9.9", 40002)] {
            event.localAddress = IPAddress(address)
            event.localPort = port
            #expect(!service.apply(event))
        }
        #expect(service.connections[5]?.subflows.map(\.path) == [0], "only the initial subflow is kept")
        #expect(service.board.refusedSubflowCount == 3)
    }

    @Test("connections the peer opened (server side) get no plan, and at most the subflow limit of its joins")
    func serverSide() {
        let service = service()
        service.peerJoinLimit = 2
        service.board.register(ConnectionKey(path: 0, ipv6: false, port: 8443), policy: 0)
        var event = MPTCPEvent(
            kind: .created,
            token: 3,
            localAddress: IPAddress("198.18.1.1"),
            remoteAddress: converter,
            localPort: 8443,
            remotePort: 50000,
            serverSide: true
        )
        _ = service.apply(event)
        #expect(service.connections.isEmpty, "no plan for a connection the peer opened")
        // The peer joins from four ports: two are kept, two destroyed and counted; one of the kept ones
        // closes, and the next join takes its place.
        event.kind = .subflowEstablished
        for port in UInt16(50001)...50004 {
            event.remotePort = port
            #expect(!service.apply(event))
        }
        #expect(service.peerOpened[3]?.map(\.remote.port) == [50001, 50002])
        #expect(service.board.refusedSubflowCount == 2)
        event.kind = .subflowClosed
        event.remotePort = 50001
        _ = service.apply(event)
        event.kind = .subflowEstablished
        event.remotePort = 50005
        _ = service.apply(event)
        #expect(service.peerOpened[3]?.map(\.remote.port) == [50002, 50005])
        #expect(service.board.refusedSubflowCount == 2)
        _ = service.apply(MPTCPEvent(kind: .closed, token: 3))
        #expect(service.peerOpened.isEmpty)
    }

    @Test("a converter that forbids its initial address gets joins only at the address it announces")
    func announcedAddressTakesTheJoins() {
        let service = service()
        service.board.register(ConnectionKey(path: 0, ipv6: false, port: 40000), policy: 1)
        _ = service.apply(
            MPTCPEvent(
                kind: .created,
                token: 5,
                localAddress: IPAddress("198.18.1.1"),
                remoteAddress: converter,
                localPort: 40000,
                remotePort: 8443,
                flags: 1
            )
        )
        #expect(service.connections[5]?.joinsToInitialDenied == true)
        #expect(service.connections[5]?.joinRemote == nil)
        let replan = service.apply(
            MPTCPEvent(kind: .announced, token: 5, remoteAddress: IPAddress("198.18.9.2"), remoteID: 1)
        )
        #expect(replan, "an announcement re-plans a connection that waits for one")
        #expect(service.connections[5]?.joinRemote == Endpoint(address: IPAddress("198.18.9.2")!, port: 8443))
        #expect(service.connections[5]?.joinTarget()?.id == 1, "the join names the announced address's id")
        #expect(service.apply(MPTCPEvent(kind: .removed, token: 5, remoteID: 1)), "a withdrawal re-plans")
        #expect(service.connections[5]?.joinRemote == nil)
    }

    @Test("a connection the kernel answers 'invalid token' for is forgotten at the end of the turn and counted")
    func vanishedConnectionsAreForgotten() {
        let service = service()
        let key = ConnectionKey(path: 0, ipv6: false, port: 40000)
        service.board.register(key, policy: 1)
        _ = service.apply(
            MPTCPEvent(
                kind: .created,
                token: 7,
                localAddress: IPAddress("198.18.1.1"),
                remoteAddress: converter,
                localPort: 40000,
                remotePort: 8443
            )
        )
        _ = service.apply(MPTCPEvent(kind: .established, token: 7))
        _ = service.apply(MPTCPEvent(kind: .created, token: 8, serverSide: true))
        service.holdOff[7] = [1: 0]
        #expect(service.connections[7] != nil && service.peerOpened[8] != nil && service.tokenByKey[key] == 7)

        // Any other refusal leaves the connection alone.
        service.noteRefusal(of: 7, NetlinkError(operation: "mptcp_pm SUBFLOW_CREATE", errno: ENOENT))
        service.noteRefusal(of: 8, NetlinkError(operation: "x", errno: EINVAL, message: "missing local port"))
        service.forgetVanished()
        #expect(service.connections[7] != nil && service.peerOpened[8] != nil)
        #expect(service.board.staleConnectionCount == 0)

        for token: UInt32 in [7, 8] {
            service.noteRefusal(
                of: token,
                NetlinkError(operation: "mptcp_pm SUBFLOW_DESTROY", errno: EINVAL, message: "invalid token")
            )
        }
        #expect(service.connections[7] != nil, "not during the turn: a caller may still write its entry back")
        service.forgetVanished()
        #expect(service.connections.isEmpty && service.peerOpened.isEmpty && service.peerConfirmedAt.isEmpty)
        #expect(service.holdOff.isEmpty && service.joinsWaiting.isEmpty && service.tokenByKey.isEmpty)
        #expect(service.board.staleConnectionCount == 2)
        service.forgetVanished()
        #expect(service.board.staleConnectionCount == 2, "counted once")
    }
}
