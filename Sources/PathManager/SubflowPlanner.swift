/// Decides what a connection's subflows should be, given its policy and which paths are up: the heart of
/// the relay as path manager, kept free of netlink so that it can be tested on its own.
///
/// While a primary path of the policy is up, every up primary carries a subflow (with `active-standby`
/// steering, only the first up one a normal subflow, the others one flagged backup); backups either keep a
/// subflow flagged backup (standby) or none (on-demand). When no primary is up, every up backup carries a
/// normal subflow (promoted). When no allowed path is up at all, the connection is closed. A policy with
/// `join_announced` networks also gives each wanted path one subflow to every address the converter announced
/// inside them, with the same backup flag as the path's main subflow.
public struct SubflowPlanner: Sendable {
    /// The plan whose policies are applied.
    public let plan: PathPlan

    /// A planner for `plan`.
    public init(plan: PathPlan) {
        self.plan = plan
    }

    /// What the subflow on each path of `connection`'s policy should be: absent from the result means no
    /// subflow; the value is the wanted backup flag. A degraded primary (`degraded`, bit N is path N) is not
    /// wanted while a healthy primary is up: ``actions(for:upPaths:holdOff:heldLanes:degraded:now:)`` then closes its
    /// subflows once a wanted one carries the connection, and opens none there.
    public func wantedSubflows(for policy: Int, upPaths: UInt64, degraded: UInt64 = 0) -> [Int: Bool] {
        let chosen = plan.policies[policy]
        let isUp = { (index: Int) in upPaths & (1 << UInt64(index)) != 0 }
        let isDegraded = { (index: Int) in degraded & (1 << UInt64(index)) != 0 }
        var primaries = chosen.paths.filter(isUp)
        let backups = chosen.backups.filter(isUp)
        let healthy = primaries.filter { !isDegraded($0) }
        var wanted: [Int: Bool] = [:]
        if primaries.isEmpty {
            for index in backups { wanted[index] = false }
        } else {
            if !healthy.isEmpty && healthy.count < primaries.count {
                // The healthy first, in their order; the degraded after them, flagged backup.
                primaries = healthy + primaries.filter(isDegraded)
            }
            for (position, index) in primaries.enumerated() {
                // A degraded primary carries nothing while a healthy one is up: its subflows go (never a
                // connection's last: see actions) and come back when it recovers. Flagging them backup
                // (MP_PRIO) was tried first: the kernel's scheduler still put up to a third of the data on
                // them while the healthy subflow was busy (docs/PATH-MANAGER.md, "Health").
                if !healthy.isEmpty && isDegraded(index) { continue }
                wanted[index] = chosen.steering == .activeStandby && position > 0
            }
            if chosen.backupMode == .standby {
                for index in backups { wanted[index] = true }
            }
        }
        return wanted
    }

    /// The actions that bring `connection` to what its policy wants with the paths in `upPaths`.
    ///
    /// Creations wait until the connection has been established for the plan's join delay (at `now`,
    /// monotonic milliseconds) and skip paths with one in flight or listed in `holdOff` (recent failures;
    /// `heldLanes` the same for subflows to announced addresses, which never hold their path's main one back,
    /// retried later). The order is creations, flag changes, destructions: a
    /// connection losing its paths gets its replacement subflow (or its promoted backup) before the dead
    /// ones go, and a dead one goes only while a subflow on an up path remains, so it is never left without
    /// a subflow.
    public func actions(
        for connection: ManagedConnection,
        upPaths: UInt64,
        holdOff: UInt64 = 0,
        heldLanes: Set<JoinLane> = [],
        degraded: UInt64 = 0,
        now: Int64
    ) -> [SubflowAction] {
        let wanted = wantedSubflows(for: connection.policy, upPaths: upPaths, degraded: degraded)
        if wanted.isEmpty {
            return [.close]
        }
        var creations: [SubflowAction] = []
        var flagChanges: [SubflowAction] = []
        var destructions: [SubflowAction] = []
        var covered: Set<Int> = []
        var unwantedOnUpPaths: [ManagedSubflow] = []
        // Announced addresses the policy joins besides the main target (`join_announced`): one subflow per
        // wanted path to each, kept apart from the main subflows (which cover their path).
        let networks = plan.policies[connection.policy].joinAnnounced
        let extras = connection.extraTargets(within: networks)
        var coveredExtras: Set<JoinLane> = []
        for subflow in connection.subflows {
            if let extra = extras.first(where: { $0.endpoint == subflow.remote }) {
                let lane = JoinLane(path: subflow.path, target: extra.id)
                if let backup = wanted[subflow.path], !coveredExtras.contains(lane) {
                    coveredExtras.insert(lane)
                    if subflow.backup != backup { flagChanges.append(.setBackup(subflow, backup)) }
                } else if upPaths & (1 << UInt64(subflow.path)) != 0 {
                    unwantedOnUpPaths.append(subflow)
                } else if connection.established {
                    destructions.append(.destroy(subflow))
                }
                continue
            }
            guard let backup = wanted[subflow.path], !covered.contains(subflow.path) else {
                if upPaths & (1 << UInt64(subflow.path)) != 0 {
                    unwantedOnUpPaths.append(subflow)
                } else if connection.established {
                    destructions.append(.destroy(subflow))
                }
                // Not established (the kernel has not reported MPTCP fully established, and never will if the
                // connection fell back to TCP): the initial subflow is all it has, and destroying it makes the
                // kernel send a FIN on it while the socket stays open; once the connection falls back, the
                // converter reads that FIN as the end of the stream: a silent truncation. Leave it: TCP
                // retransmits when the path returns, and the worker's timeouts end it otherwise.
                continue
            }
            covered.insert(subflow.path)
            if subflow.backup != backup {
                flagChanges.append(.setBackup(subflow, backup))
            }
        }
        // active-standby: the other primaries stay active until the active path's subflow exists (A back
        // after B took over: B is demoted once A's join is there, never before).
        let chosen = plan.policies[connection.policy]
        let upPrimaryList = chosen.paths.filter { upPaths & (1 << UInt64($0)) != 0 }
        if chosen.steering == .activeStandby,
            let active = upPrimaryList.first(where: { degraded & (1 << UInt64($0)) == 0 }) ?? upPrimaryList.first,
            !covered.contains(active)
        {
            flagChanges.removeAll { action in
                if case .setBackup(let subflow, true) = action { return chosen.paths.contains(subflow.path) }
                return false
            }
        }
        // A subflow on a dead path goes only while another subflow, on an up path, is there to carry the
        // connection: never the last one. A creation in flight does not count: it can fail, and the kernel
        // refuses every SUBFLOW_CREATE (ENOTCONN) once the connection has left ESTABLISHED (a request whose
        // client has already half-closed): destroyed, the last subflow leaves a connection that neither side
        // ever hears of again (docs/RELIABILITY.md finding 12). Kept, TCP retransmits on it when the path
        // returns; the replacement, once established, re-plans the connection and the dead one goes then.
        if !connection.subflows.contains(where: { upPaths & (1 << UInt64($0.path)) != 0 }) {
            destructions.removeAll()
        }
        // A working subflow that the policy no longer wants (an on-demand backup after a primary came back)
        // stays until a wanted subflow exists to take over.
        if !covered.isEmpty {
            destructions += unwantedOnUpPaths.map { .destroy($0) }
        }
        // No creation before the joins are due, nor while the converter forbids joins to its initial address
        // and has announced no other one a join may go to.
        if let joinsDue = joinsDue(connection), now >= joinsDue, connection.joinTarget(within: networks) != nil {
            for (path, backup) in wanted.sorted(by: { $0.key < $1.key }) {
                let bit: UInt64 = 1 << UInt64(path)
                if !covered.contains(path) && connection.creating & bit == 0 && holdOff & bit == 0 {
                    creations.append(.create(path: path, backup: backup))
                }
                for extra in extras {
                    let lane = JoinLane(path: path, target: extra.id)
                    guard !coveredExtras.contains(lane), !connection.creatingExtra.contains(lane),
                        !heldLanes.contains(lane)
                    else { continue }
                    creations.append(.create(path: path, backup: backup, target: extra.id))
                }
            }
        }
        return creations + flagChanges + destructions
    }

    /// When `connection` may get join subflows (monotonic milliseconds): its policy's `join_after`, or else
    /// the plan's join delay, after it was fully established; `nil` while it is not.
    public func joinsDue(_ connection: ManagedConnection) -> Int64? {
        let delay =
            plan.policies.indices.contains(connection.policy)
            ? plan.policies[connection.policy].joinAfterMilliseconds ?? plan.joinDelayMilliseconds
            : plan.joinDelayMilliseconds
        return connection.establishedAt.map { $0 + delay }
    }
}
