public import ConvertProtocol

/// One of the relay's MPTCP connections as the path manager follows it, from the kernel's events.
public struct ManagedConnection: Sendable, Hashable {
    /// The kernel's connection token.
    public var token: UInt32
    /// Where the worker registered it.
    public var key: ConnectionKey
    /// The index of its subflow policy in the plan.
    public var policy: Int
    /// The converter's address and port (every subflow goes there).
    public var remote: Endpoint
    /// The connection's subflows that the path manager knows of, the initial one included.
    public var subflows: [ManagedSubflow]
    /// Paths with a subflow creation in flight (bit N is path N).
    public var creating: UInt64 = 0
    /// When the kernel reported the connection fully established (monotonic milliseconds); `nil` before.
    /// Extra subflows are opened from then on, after the plan's join delay.
    public var establishedAt: Int64?

    /// The kernel reported the connection fully established.
    public var established: Bool { establishedAt != nil }

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
