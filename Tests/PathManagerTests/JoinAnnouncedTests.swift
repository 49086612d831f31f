import ConvertProtocol
import PathManager
import Testing

/// `join_announced`: a policy's subflows to the addresses the converter announces inside its networks.
@Suite("SubflowPlanner: subflows to announced addresses where the policy's join_announced allows them")
struct JoinAnnouncedTests {
    /// threeUplinks with "bulk" joining announcements in 198.18.9.0/24, and "plain" (A and B) joining none.
    static let plan = PathPlan(
        mode: .relay,
        paths: threeUplinks.paths,
        policies: [
            SubflowPolicy(
                name: "bulk",
                paths: [0, 1],
                backups: [2],
                backupMode: .standby,
                joinAnnounced: [IPNetwork("198.18.9.0/24")!]
            ),
            SubflowPolicy(name: "plain", paths: [0, 1]),
        ]
    )
    let planner = SubflowPlanner(plan: Self.plan)
    static let inside = Endpoint(address: IPAddress("198.18.9.2")!, port: 8443)
    static let outside = Endpoint(address: IPAddress("203.0.113.9")!, port: 8443)

    /// A connection of `policy` on A that the converter told of one address inside the networks (id 1)
    /// and one outside (id 2).
    func announcing(policy: Int, _ subflows: [ManagedSubflow]) -> ManagedConnection {
        var connection = connection(policy: policy, subflows)
        connection.announced[1] = Self.inside
        connection.announced[2] = Self.outside
        return connection
    }

    /// A subflow from `path` to the announced address inside the networks.
    func toInside(_ path: Int, port: UInt16 = 41000, backup: Bool = false) -> ManagedSubflow {
        var subflow = subflow(path, port: port, backup: backup)
        subflow.remote = Self.inside
        return subflow
    }

    @Test("every wanted path gets one subflow to each announced address inside the networks, none outside")
    func extraSubflows() {
        let bulk = announcing(policy: 0, [subflow(0)])
        #expect(bulk.extraTargets(within: Self.plan.policies[0].joinAnnounced).map(\.id) == [1])
        #expect(
            planner.actions(for: bulk, upPaths: a | b | c, now: later) == [
                .create(path: 0, backup: false, target: 1),
                .create(path: 1, backup: false),
                .create(path: 1, backup: false, target: 1),
                .create(path: 2, backup: true),
                .create(path: 2, backup: true, target: 1),
            ]
        )
    }

    @Test("a policy without join_announced opens none to announced addresses")
    func noNetworksNoExtras() {
        let plain = announcing(policy: 1, [subflow(0)])
        #expect(plain.extraTargets(within: []).isEmpty)
        #expect(planner.actions(for: plain, upPaths: a | b | c, now: later) == [.create(path: 1, backup: false)])
    }

    @Test(
        "an extra subflow covers its lane only: the path's main subflow is still opened, and in flight is not doubled"
    )
    func lanesAreApart() {
        var bulk = announcing(policy: 0, [subflow(0), toInside(1)])
        #expect(
            planner.actions(for: bulk, upPaths: a | b, now: later) == [
                .create(path: 0, backup: false, target: 1), .create(path: 1, backup: false),
            ]
        )
        bulk.creatingExtra = [JoinLane(path: 0, target: 1)]
        bulk.creating = b
        #expect(planner.actions(for: bulk, upPaths: a | b, now: later).isEmpty)
    }

    @Test("an extra subflow on a dead path goes while another carries the connection; never the last")
    func extraOnDeadPath() {
        let full = announcing(policy: 0, [subflow(0), toInside(0), subflow(1, port: 40001), toInside(1, port: 41001)])
        let actions = planner.actions(for: full, upPaths: b, now: later)
        #expect(actions.contains(.destroy(toInside(0))) && actions.contains(.destroy(subflow(0))))
        #expect(!actions.contains(.destroy(toInside(1, port: 41001))))
        let alone = announcing(policy: 0, [toInside(0)])
        #expect(!planner.actions(for: alone, upPaths: c, now: later).contains(.destroy(toInside(0))))
    }

    @Test("with the C flag the main joins go to an announced address inside the networks, not to one outside")
    func deniedInitialStaysInside() {
        var bulk = connection(policy: 0, [subflow(0)])
        bulk.joinsToInitialDenied = true
        bulk.announced[1] = Self.outside
        #expect(bulk.joinTarget(within: Self.plan.policies[0].joinAnnounced) == nil)
        #expect(planner.actions(for: bulk, upPaths: a | b, now: later).isEmpty, "no target inside the networks")
        bulk.announced[3] = Self.inside
        let target = bulk.joinTarget(within: Self.plan.policies[0].joinAnnounced)
        #expect(target?.id == 3 && target?.endpoint == Self.inside)
        #expect(bulk.extraTargets(within: Self.plan.policies[0].joinAnnounced).isEmpty, "the main target is no extra")
        #expect(planner.actions(for: bulk, upPaths: a | b, now: later) == [.create(path: 1, backup: false)])
    }

    @Test("at most eight announced addresses get extra subflows")
    func atMostEight() {
        var bulk = connection(policy: 0, [subflow(0)])
        for id in UInt8(1)...12 {
            bulk.announced[id] = Endpoint(address: .v4(0xC612_0900 + UInt32(id)), port: 8443)
        }
        #expect(bulk.extraTargets(within: Self.plan.policies[0].joinAnnounced).map(\.id) == Array(1...8))
    }

    @Test("an address announced under two ids gets one lane, under its lowest id: no create-destroy cycle")
    func duplicateAnnouncement() {
        var bulk = announcing(policy: 0, [subflow(0), toInside(0), subflow(1, port: 40001), toInside(1, port: 41001)])
        bulk.announced[7] = Self.inside
        #expect(bulk.extraTargets(within: Self.plan.policies[0].joinAnnounced).map(\.id) == [1])
        #expect(planner.actions(for: bulk, upPaths: a | b, now: later).isEmpty)
    }

    @Test("a held-off lane (its announced address failed from that path) never holds back the path's main subflow")
    func laneHoldOff() {
        let bulk = announcing(policy: 0, [subflow(0), toInside(0)])
        let held: Set<JoinLane> = [JoinLane(path: 1, target: 1)]
        #expect(
            planner.actions(for: bulk, upPaths: a | b, heldLanes: held, now: later) == [.create(path: 1, backup: false)]
        )
        #expect(
            planner.actions(for: bulk, upPaths: a | b, holdOff: b, now: later) == [
                .create(path: 1, backup: false, target: 1)
            ],
            "and a held-off path still gets its subflows to announced addresses"
        )
    }
}
