import ConvertProtocol
import PathManager
import Testing

/// Paths A and B primary, C backup; "interactive" on A with C on demand, "bulk" on A and B with C standby.
let threeUplinks = PathPlan(
    mode: .relay,
    paths: [
        PathDefinition(name: "a", source: IPAddress("198.18.1.1")),
        PathDefinition(name: "b", source: IPAddress("198.18.2.1")),
        PathDefinition(name: "c", source: IPAddress("198.18.3.1"), pathClass: .backup),
    ],
    policies: [
        SubflowPolicy(
            name: "interactive",
            match: PolicyMatch(destinationPorts: [22]),
            paths: [0],
            backups: [2],
            backupMode: .onDemand
        ),
        SubflowPolicy(name: "bulk", paths: [0, 1], backups: [2], backupMode: .standby),
    ]
)

let a: UInt64 = 1
let b: UInt64 = 2
let c: UInt64 = 4
/// A time long after every test connection was established (they are established at 0).
let later: Int64 = 10_000

func subflow(_ path: Int, port: UInt16 = 40000, backup: Bool = false) -> ManagedSubflow {
    ManagedSubflow(
        path: path,
        local: Endpoint(address: .v4(0xC612_0001 + UInt32(path) << 8), port: port),
        remote: Endpoint(address: .v4(0xC612_0102), port: 8443),
        backup: backup
    )
}

func connection(policy: Int, _ subflows: [ManagedSubflow], established: Bool = true) -> ManagedConnection {
    var connection = ManagedConnection(
        token: 7,
        key: ConnectionKey(path: subflows[0].path, ipv6: false, port: subflows[0].local.port),
        policy: policy,
        remote: Endpoint(address: .v4(0xC612_0102), port: 8443),
        initial: subflows[0]
    )
    connection.subflows = subflows
    connection.establishedAt = established ? 0 : nil
    return connection
}

@Suite("SubflowPlanner: policies applied to paths")
struct SubflowPlannerTests {
    let planner = SubflowPlanner(plan: threeUplinks)

    @Test("interactive: one subflow over A, nothing on C while A is up")
    func interactive() {
        #expect(planner.wantedSubflows(for: 0, upPaths: a | b | c) == [0: false])
        #expect(planner.actions(for: connection(policy: 0, [subflow(0)]), upPaths: a | b | c, now: later).isEmpty)
    }

    @Test("bulk: subflows over A and B, C open but flagged backup")
    func bulkStandby() {
        let fresh = connection(policy: 1, [subflow(0)])
        #expect(
            planner.actions(for: fresh, upPaths: a | b | c, now: later) == [
                .create(path: 1, backup: false), .create(path: 2, backup: true),
            ]
        )
        #expect(
            planner.actions(for: fresh, upPaths: a | b | c, holdOff: b, now: later) == [.create(path: 2, backup: true)]
        )
        let notYet = connection(policy: 1, [subflow(0)], established: false)
        #expect(planner.actions(for: notYet, upPaths: a | b | c, now: later).isEmpty)
    }

    @Test("joins wait for the plan's join delay after establishment, then open together")
    func joinDelay() {
        let planner = SubflowPlanner(plan: threeUplinks)
        #expect(threeUplinks.joinDelayMilliseconds == PathPlan.defaultJoinDelayMilliseconds)
        var fresh = connection(policy: 1, [subflow(0)])
        fresh.establishedAt = 5_000
        #expect(planner.joinsDue(fresh) == 5_000 + threeUplinks.joinDelayMilliseconds)
        #expect(planner.actions(for: fresh, upPaths: a | b | c, now: 5_000).isEmpty)
        #expect(
            planner.actions(for: fresh, upPaths: a | b | c, now: 5_000 + threeUplinks.joinDelayMilliseconds - 1).isEmpty
        )
        #expect(
            planner.actions(for: fresh, upPaths: a | b | c, now: 5_000 + threeUplinks.joinDelayMilliseconds) == [
                .create(path: 1, backup: false), .create(path: 2, backup: true),
            ]
        )
        var atOnce = threeUplinks
        atOnce.joinDelayMilliseconds = 0
        #expect(
            SubflowPlanner(plan: atOnce).actions(for: fresh, upPaths: a | b | c, now: 5_000) == [
                .create(path: 1, backup: false), .create(path: 2, backup: true),
            ]
        )
    }

    @Test("failover: A then B down promotes C before the dead subflows go; A back demotes it again")
    func failover() {
        let full = connection(policy: 1, [subflow(0), subflow(1, port: 40001), subflow(2, port: 40002, backup: true)])
        #expect(planner.actions(for: full, upPaths: a | b | c, now: later).isEmpty)
        #expect(planner.actions(for: full, upPaths: b | c, now: later) == [.destroy(subflow(0))])
        let onB = connection(policy: 1, [subflow(1, port: 40001), subflow(2, port: 40002, backup: true)])
        #expect(
            planner.actions(for: onB, upPaths: c, now: later) == [
                .setBackup(subflow(2, port: 40002, backup: true), false), .destroy(subflow(1, port: 40001)),
            ]
        )
        let onC = connection(policy: 1, [subflow(2, port: 40002)])
        #expect(
            planner.actions(for: onC, upPaths: a | c, now: later) == [
                .create(path: 0, backup: false), .setBackup(subflow(2, port: 40002), true),
            ]
        )
    }

    @Test("on-demand: C is opened when A dies and closed when A returns")
    func onDemand() {
        let onA = connection(policy: 0, [subflow(0)])
        #expect(planner.actions(for: onA, upPaths: b | c, now: later) == [.create(path: 2, backup: false)])
        // A's subflow goes once C's is established (the event re-plans the connection).
        let joined = connection(policy: 0, [subflow(0), subflow(2, port: 40002)])
        #expect(planner.actions(for: joined, upPaths: b | c, now: later) == [.destroy(subflow(0))])
        let onC = connection(policy: 0, [subflow(2, port: 40002)])
        #expect(planner.actions(for: onC, upPaths: a | b | c, now: later) == [.create(path: 0, backup: false)])
        let both = connection(policy: 0, [subflow(2, port: 40002), subflow(0)])
        #expect(planner.actions(for: both, upPaths: a | b | c, now: later) == [.destroy(subflow(2, port: 40002))])
    }

    @Test("a path going down before the connection is established leaves its only subflow alone")
    func notEstablishedKeepsInitial() {
        // The kernel sends a FIN on a destroyed initial subflow; a connection that then falls back to TCP
        // delivers it to the converter as the end of the stream (silent truncation).
        let onA = connection(policy: 1, [subflow(0)], established: false)
        #expect(planner.actions(for: onA, upPaths: b | c, now: later).isEmpty)
        let interactive = connection(policy: 0, [subflow(0)], established: false)
        #expect(planner.actions(for: interactive, upPaths: b | c, now: later).isEmpty)
    }

    @Test("the last subflow stays on its dead path until a subflow on an up path exists")
    func lastSubflowStays() {
        // Half-closed: the kernel refuses every SUBFLOW_CREATE; destroying A would leave nothing at all.
        var onA = connection(policy: 1, [subflow(0)])
        #expect(
            planner.actions(for: onA, upPaths: b | c, now: later) == [
                .create(path: 1, backup: false), .create(path: 2, backup: true),
            ]
        )
        onA.creating = b | c
        #expect(planner.actions(for: onA, upPaths: b | c, now: later).isEmpty, "a creation in flight is not enough")
        onA.creating = 0
        #expect(planner.actions(for: onA, upPaths: b | c, holdOff: b | c, now: later).isEmpty)
        // Joins not yet due (join_after): no creation, and A stays.
        var young = connection(policy: 1, [subflow(0)])
        young.establishedAt = later
        #expect(planner.actions(for: young, upPaths: b | c, now: later).isEmpty)
        // Two dead subflows and nothing else: both stay.
        let deadPair = connection(policy: 1, [subflow(0), subflow(1, port: 40001)])
        #expect(planner.actions(for: deadPair, upPaths: c, holdOff: c, now: later) == [])
    }

    @Test("a degraded primary: its subflows close and none opens there while a healthy primary carries")
    func degradedPrimary() {
        let both = connection(policy: 1, [subflow(0), subflow(1, port: 40001)])
        #expect(planner.wantedSubflows(for: 1, upPaths: a | b | c, degraded: a) == [1: false, 2: true])
        #expect(planner.actions(for: both, upPaths: a | b, degraded: a, now: later) == [.destroy(subflow(0))])
        // Its only subflow stays until B's exists.
        let onlyA = connection(policy: 1, [subflow(0)])
        #expect(
            planner.actions(for: onlyA, upPaths: a | b, degraded: a, now: later) == [.create(path: 1, backup: false)]
        )
        // No subflow on the degraded path yet: none is opened there.
        let onB = connection(policy: 1, [subflow(1, port: 40001)])
        #expect(planner.actions(for: onB, upPaths: a | b, degraded: a, now: later).isEmpty)
        // Healthy again: its subflow comes back.
        #expect(planner.actions(for: onB, upPaths: a | b, now: later) == [.create(path: 0, backup: false)])
        // Every primary degraded: used as if healthy.
        #expect(planner.actions(for: both, upPaths: a | b, degraded: a | b, now: later).isEmpty)
    }

    @Test("no allowed path up: the connection is closed")
    func allDown() {
        #expect(planner.actions(for: connection(policy: 0, [subflow(0)]), upPaths: b, now: later) == [.close])
        #expect(planner.actions(for: connection(policy: 1, [subflow(0)]), upPaths: 0, now: later) == [.close])
    }

    @Test("the default policy takes every primary, backups on demand")
    func defaultPolicy() {
        #expect(threeUplinks.policies.last?.name == "default")
        #expect(planner.wantedSubflows(for: 2, upPaths: a | b | c) == [0: false, 1: false])
        #expect(planner.wantedSubflows(for: 2, upPaths: c) == [2: false])
    }
}

@Suite("SubflowPlanner: where joins go when the converter forbids its initial address (RFC 8684 C flag)")
struct AnnouncedAddressTests {
    let planner = SubflowPlanner(plan: threeUplinks)

    @Test("C flag: no join before an announced address, then every join goes to it")
    func deniedInitialWaitsForAnnouncement() {
        var denied = connection(policy: 1, [subflow(0)])
        denied.joinsToInitialDenied = true
        #expect(denied.joinRemote == nil)
        #expect(planner.actions(for: denied, upPaths: a | b | c, now: later).isEmpty, "RFC 8684: MUST NOT")
        denied.announced[1] = Endpoint(address: IPAddress("198.18.9.2")!, port: 8443)
        #expect(denied.joinRemote == Endpoint(address: IPAddress("198.18.9.2")!, port: 8443))
        #expect(
            planner.actions(for: denied, upPaths: a | b | c, now: later) == [
                .create(path: 1, backup: false), .create(path: 2, backup: true),
            ]
        )
    }

    @Test("without the C flag joins go to the initial address, announced or not")
    func allowedInitialStays() {
        var allowed = connection(policy: 1, [subflow(0)])
        allowed.announced[1] = Endpoint(address: IPAddress("198.18.9.2")!, port: 8443)
        #expect(allowed.joinRemote == allowed.remote)
    }

    @Test(
        "an announced address no join may go to is never a target",
        arguments: [
            "127.0.0.1", "224.0.0.1", "255.255.255.255", "0.0.0.0", "169.254.169.254", "2001:db8::2",
            "198.18.1.2",  // the initial address and port, announced again: still forbidden
        ]
    )
    func refusedTargets(_ text: String) {
        var denied = connection(policy: 1, [subflow(0)])
        denied.joinsToInitialDenied = true
        let candidate = Endpoint(address: IPAddress(text)!, port: 8443)
        denied.announced[1] = candidate
        #expect(!denied.acceptsJoin(to: candidate))
        #expect(denied.joinRemote == nil)
        #expect(planner.actions(for: denied, upPaths: a | b | c, now: later).isEmpty)
        // A usable one announced after it is taken.
        denied.announced[2] = Endpoint(address: IPAddress("198.18.9.2")!, port: 8443)
        #expect(denied.joinRemote?.address == IPAddress("198.18.9.2"))
    }

    @Test("an IPv6 connection refuses loopback, multicast, link-local and IPv4-mapped announcements")
    func refusedIPv6Targets() {
        var denied = ManagedConnection(
            token: 8,
            key: ConnectionKey(path: 0, ipv6: true, port: 40000),
            policy: 1,
            remote: Endpoint(address: IPAddress("2001:db8:18:1::2")!, port: 8443),
            initial: subflow(0)
        )
        denied.joinsToInitialDenied = true
        for text in ["::1", "ff02::1", "fe80::1", "::ffff:198.18.9.2", "198.18.9.2"] {
            #expect(!denied.acceptsJoin(to: Endpoint(address: IPAddress(text)!, port: 8443)), "\(text)")
        }
        #expect(denied.acceptsJoin(to: Endpoint(address: IPAddress("2001:db8:18:9::2")!, port: 8443)))
    }
}
