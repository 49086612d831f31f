import ConvertProtocol
import PathManager
import Testing

/// A, B and C primary, D backup on standby: one policy per steering mode.
let steeringPlan = PathPlan(
    mode: .relay,
    paths: [
        PathDefinition(name: "a", source: IPAddress("198.18.1.1")),
        PathDefinition(name: "b", source: IPAddress("198.18.2.1")),
        PathDefinition(name: "c", source: IPAddress("198.18.3.1")),
        PathDefinition(name: "d", source: IPAddress("198.18.4.1"), pathClass: .backup),
    ],
    policies: [
        SubflowPolicy(name: "standby", paths: [0, 1, 2], backups: [3], backupMode: .standby, steering: .activeStandby),
        SubflowPolicy(name: "weighted", paths: [0, 1], steering: .weighted, weights: [3, 1]),
        SubflowPolicy(name: "aggregate", paths: [0, 1, 2]),
        SubflowPolicy(name: "fastest", paths: [0, 1, 2], steering: .lowestRTT),
    ]
)

@Suite("Steering modes: active-standby subflows, weighted initial paths")
struct SteeringModeTests {
    let planner = SubflowPlanner(plan: steeringPlan)
    let d: UInt64 = 8

    @Test("active-standby: the first up primary is active, the other up primaries and the backup on standby")
    func activeStandby() {
        #expect(planner.wantedSubflows(for: 0, upPaths: a | b | c | d) == [0: false, 1: true, 2: true, 3: true])
        // A down: B is first in the policy's order and takes over; C stays on standby.
        #expect(planner.wantedSubflows(for: 0, upPaths: b | c | d) == [1: false, 2: true, 3: true])
        #expect(planner.wantedSubflows(for: 0, upPaths: c | d) == [2: false, 3: true])
        // No primary left: the backup is promoted.
        #expect(planner.wantedSubflows(for: 0, upPaths: d) == [3: false])
        // aggregate, for comparison: every up primary active.
        #expect(planner.wantedSubflows(for: 2, upPaths: a | b | c | d) == [0: false, 1: false, 2: false])
    }

    @Test("active-standby: B's subflow is flagged backup while A is up, and promoted when A goes down")
    func activeStandbyActions() {
        let both = connection(policy: 0, [subflow(0), subflow(1, port: 40001)])
        #expect(
            planner.actions(for: both, upPaths: a | b, now: later) == [.setBackup(subflow(1, port: 40001), true)]
        )
        let flagged = connection(policy: 0, [subflow(0), subflow(1, port: 40001, backup: true)])
        #expect(planner.actions(for: flagged, upPaths: a | b, now: later).isEmpty)
        #expect(
            planner.actions(for: flagged, upPaths: b, now: later) == [
                .setBackup(subflow(1, port: 40001, backup: true), false), .destroy(subflow(0)),
            ]
        )
    }

    @Test("active-standby: when A comes back, B stays active until A's subflow exists, then is demoted")
    func activeStandbyReturn() {
        let onB = connection(policy: 0, [subflow(1, port: 40001)])
        #expect(planner.actions(for: onB, upPaths: a | b, now: later) == [.create(path: 0, backup: false)])
        let both = connection(policy: 0, [subflow(1, port: 40001), subflow(0, port: 40002)])
        #expect(planner.actions(for: both, upPaths: a | b, now: later) == [.setBackup(subflow(1, port: 40001), true)])
    }

    @Test("weighted 3:1: of 40 new connections, 30 start on A and 10 on B; a path down takes no share")
    func weightedInitialPaths() throws {
        let board = PathBoard(plan: steeringPlan)
        let converter = try #require(IPAddress("198.18.1.2"))
        for index in 0..<3 {
            board.setSource(of: index, ipv6: false, to: IPAddress("198.18.\(index + 1).1"))
            board.setUp(index, true)
        }
        var starts: [Int: Int] = [:]
        for _ in 0..<40 {
            starts[try #require(board.initialPath(policy: 1, upstream: converter)).index, default: 0] += 1
        }
        #expect(starts == [0: 30, 1: 10])
        board.setUp(0, false)
        #expect(
            (0..<8).map { _ in board.initialPath(policy: 1, upstream: converter)?.index }
                == Array(repeating: 1, count: 8)
        )
        // A path passed over (a redial after a failed connect) takes no share either.
        board.setUp(0, true)
        #expect((0..<8).allSatisfy { _ in board.initialPath(policy: 1, upstream: converter, excluding: a)?.index == 1 })
        // The other modes start on the first up primary.
        #expect(board.initialPath(policy: 0, upstream: converter)?.index == 0)
        #expect(board.initialPath(policy: 2, upstream: converter)?.index == 0)
    }

    @Test("active-standby: a degraded first primary hands the active role to the first healthy one")
    func activeStandbyDegraded() {
        let planner = SubflowPlanner(plan: steeringPlan)
        // A degraded, B and C healthy: B active (normal), C on standby, D the standby backup, A without subflow.
        #expect(
            planner.wantedSubflows(for: 0, upPaths: 0b1111, degraded: 0b0001) == [1: false, 2: true, 3: true]
        )
        // A degraded and without a subflow (none is opened there while it is), B and C carrying: B is the
        // active one, so C is demoted (were A taken as active, C would never be, and the mode would aggregate).
        let remote = Endpoint(address: IPAddress("198.18.1.2")!, port: 8443)
        let onB = ManagedSubflow(
            path: 1,
            local: Endpoint(address: IPAddress("198.18.2.1")!, port: 40001),
            remote: remote,
            backup: false
        )
        let onC = ManagedSubflow(
            path: 2,
            local: Endpoint(address: IPAddress("198.18.3.1")!, port: 40002),
            remote: remote,
            backup: false
        )
        var connection = ManagedConnection(
            token: 1,
            key: ConnectionKey(path: 1, ipv6: false, port: 40001),
            policy: 0,
            remote: remote,
            initial: onB
        )
        connection.establishedAt = 0
        connection.subflows.append(onC)
        let actions = planner.actions(for: connection, upPaths: 0b0111, degraded: 0b0001, now: 10_000)
        #expect(actions == [.setBackup(onC, true)], "\(actions)")
    }

    @Test(
        "lowest-rtt: new connections start on the measured primary with the lowest RTT; a degraded one is passed over"
    )
    func lowestRTTInitialPaths() throws {
        let board = PathBoard(plan: steeringPlan)
        let converter = try #require(IPAddress("198.18.1.2"))
        for index in 0..<3 {
            board.setSource(of: index, ipv6: false, to: IPAddress("198.18.\(index + 1).1"))
            board.setUp(index, true)
        }
        #expect(board.initialPath(policy: 3, upstream: converter)?.index == 0, "nothing measured: the first up one")
        board.setMeasurements(of: 0, loss: 0, rttMicroseconds: 40_000)
        board.setMeasurements(of: 1, loss: 0, rttMicroseconds: 12_000)
        board.setMeasurements(of: 2, loss: 0, rttMicroseconds: 25_000)
        #expect(board.initialPath(policy: 3, upstream: converter)?.index == 1)
        board.setUp(1, false)
        #expect(board.initialPath(policy: 3, upstream: converter)?.index == 2)
        board.setDegraded(2, true)
        #expect(board.initialPath(policy: 3, upstream: converter)?.index == 0, "C degraded, A healthy")
        // Extra subflows as aggregate.
        let planner = SubflowPlanner(plan: steeringPlan)
        #expect(planner.wantedSubflows(for: 3, upPaths: 0b111) == [0: false, 1: false, 2: false])
    }
}
