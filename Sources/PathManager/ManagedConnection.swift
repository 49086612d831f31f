public import ConvertProtocol

/// A subflow towards one of the converter's announced addresses from one path: path index and the
/// converter's address id.
public struct JoinLane: Sendable, Hashable {
    /// The path whose source address the subflow uses.
    public var path: Int
    /// The converter's id for the announced address.
    public var target: UInt8

    /// A lane from its parts.
    public init(path: Int, target: UInt8) {
        self.path = path
        self.target = target
    }
}

/// One of the relay's MPTCP connections as the path manager follows it, from the kernel's events.
public struct ManagedConnection: Sendable, Hashable {
    /// The kernel's connection token.
    public var token: UInt32
    /// Where the worker registered it.
    public var key: ConnectionKey
    /// The index of its subflow policy in the plan.
    public var policy: Int
    /// The converter's address and port: the initial subflow's, and every join's unless the converter
    /// forbade joins there (``joinRemote``).
    public var remote: Endpoint
    /// The connection's subflows that the path manager knows of, the initial one included.
    public var subflows: [ManagedSubflow]
    /// Paths with a subflow creation in flight (bit N is path N).
    public var creating: UInt64 = 0
    /// When the kernel reported the connection fully established (monotonic milliseconds); `nil` before.
    /// Extra subflows are opened from then on, after the plan's join delay.
    public var establishedAt: Int64?

    /// Whether the converter forbade joins to its initial address and port (the C flag of its MP_CAPABLE,
    /// `MPTCP_PM_EV_FLAG_DENY_JOIN_ID0`): its joins then go to an address it announced (docs/SCALE-OUT.md).
    public var joinsToInitialDenied = false
    /// The addresses (and ports) the converter announced on this connection (ADD_ADDR), by its address id.
    public var announced: [UInt8: Endpoint] = [:]

    /// The kernel reported the connection fully established.
    public var established: Bool { establishedAt != nil }

    /// Subflows to announced addresses (``extraTargets(within:)``) with a creation in flight.
    public var creatingExtra: Set<JoinLane> = []

    /// The most announced addresses a connection gets extra subflows to (the kernel keeps at most eight
    /// addresses per connection's path manager).
    public static let maximumExtraTargets = 8

    /// Where this connection's joins go: the converter's initial address, or, when the converter forbade
    /// that, the first address (by id) it announced that a join may go to (``acceptsJoin(to:)``) inside
    /// `networks` (any, when empty: the policy's `join_announced`); nil while it has announced none, and then
    /// no join is opened. The id is the converter's address id for it (0 for the initial address), which the
    /// SUBFLOW_CREATE names so that the kernel files the subflow under that id (a REMOVE_ADDR of it then
    /// closes the subflow).
    public func joinTarget(within networks: [IPNetwork] = []) -> (id: UInt8, endpoint: Endpoint)? {
        guard joinsToInitialDenied else { return (0, remote) }
        return announced.sorted { $0.key < $1.key }
            .first { acceptsJoin(to: $0.value) && Self.inside(networks, $0.value, emptyMeansAll: true) }
            .map { ($0.key, $0.value) }
    }

    /// The announced addresses that get subflows of their own besides ``joinTarget(within:)`` (the policy's
    /// `join_announced`, `networks`): those a join may go to, inside one of `networks`, by address id, at most
    /// ``maximumExtraTargets``. None when `networks` is empty.
    public func extraTargets(within networks: [IPNetwork]) -> [(id: UInt8, endpoint: Endpoint)] {
        guard !networks.isEmpty else { return [] }
        let main = joinTarget(within: networks)?.endpoint
        var seen: Set<Endpoint> = main.map { [$0] } ?? []
        var targets: [(id: UInt8, endpoint: Endpoint)] = []
        // By id; an address announced twice (under two ids) counts once, under its lowest id.
        for (id, endpoint) in announced.sorted(by: { $0.key < $1.key }) where targets.count < Self.maximumExtraTargets {
            guard acceptsJoin(to: endpoint), Self.inside(networks, endpoint), seen.insert(endpoint).inserted else {
                continue
            }
            targets.append((id, endpoint))
        }
        return targets
    }

    /// ``joinTarget(within:)``'s address with no `join_announced` networks.
    public var joinRemote: Endpoint? { joinTarget()?.endpoint }

    private static func inside(_ networks: [IPNetwork], _ endpoint: Endpoint, emptyMeansAll: Bool = false) -> Bool {
        if networks.isEmpty { return emptyMeansAll }
        return networks.contains { $0.contains(endpoint.address) }
    }

    /// Whether a join may go to `candidate`, an address the converter announced: one of the initial address's
    /// family that names one host somewhere else, so never the initial address and port themselves,
    /// loopback, multicast, broadcast, unspecified, link-local or IPv4-mapped (a hostile or broken converter
    /// cannot point the gateway's uplinks at the gateway itself, its LAN's link or a group).
    public func acceptsJoin(to candidate: Endpoint) -> Bool {
        let address = candidate.address
        // The initial address and port itself, announced again, is still the one the C flag forbids.
        guard address.isIPv4 == remote.address.isIPv4, candidate.port != 0, candidate != remote else { return false }
        if address.isLoopback || address.isMulticast || address.isUnspecified || address.isLinkLocal
            || address.isLimitedBroadcast
        {
            return false
        }
        switch address {
        case .v4:
            return true
        case .v6(let high, let low):
            return !(high == 0 && low >> 32 == 0xFFFF)
        }
    }

    /// A connection with its initial subflow.
    public init(token: UInt32, key: ConnectionKey, policy: Int, remote: Endpoint, initial: ManagedSubflow) {
        self.token = token
        self.key = key
        self.policy = policy
        self.remote = remote
        self.subflows = [initial]
    }
}

/// One subflow of a ``ManagedConnection``.
public struct ManagedSubflow: Sendable, Hashable {
    /// The path whose source address the subflow uses.
    public var path: Int
    /// The local address and port.
    public var local: Endpoint
    /// The remote address and port.
    public var remote: Endpoint
    /// Whether the subflow is flagged backup (MP_PRIO) on our side.
    public var backup: Bool
    /// The MPTCP address id of its local address (0 for the initial subflow), when known.
    public var localID: UInt8?

    /// A subflow from its parts.
    public init(path: Int, local: Endpoint, remote: Endpoint, backup: Bool, localID: UInt8? = nil) {
        self.path = path
        self.local = local
        self.remote = remote
        self.backup = backup
        self.localID = localID
    }
}
