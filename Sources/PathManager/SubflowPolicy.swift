public import ConvertProtocol

/// Which paths a connection's subflows use (`[[policy]]`): the primaries, the backups, and how backups wait.
public struct SubflowPolicy: Sendable, Hashable {
    /// Unique name, used in logs and `/connections`.
    public var name: String
    /// The connections this policy takes.
    public var match: PolicyMatch
    /// Indices into ``PathPlan/paths`` of the paths that carry subflows normally, in order of preference:
    /// the first one that is up carries the initial subflow.
    public var paths: [Int]
    /// Indices into ``PathPlan/paths`` of the paths used only when none of ``paths`` is up.
    public var backups: [Int]
    /// How the backups wait while a primary is up.
    public var backupMode: BackupMode
    /// How connections spread over the primaries.
    public var steering: SteeringMode
    /// For `weighted` steering: each primary's weight, in the order of ``paths`` (1 when not configured).
    public var weights: [Int]
    /// TCP congestion control for the connection's subflows (`bbr`, `cubic`); nil keeps the system default.
    public var congestion: String?
    /// Milliseconds between a connection's establishment and its join subflows (`join_after`); nil uses the
    /// plan's ``PathPlan/joinDelayMilliseconds``.
    public var joinAfterMilliseconds: Int64?
    /// Networks whose addresses, when the converter announces them (ADD_ADDR), get subflows of their own from
    /// every path the policy uses (`join_announced`); empty: announcements are used only when the converter
    /// forbids joins to its initial address, and then any acceptable one (``ManagedConnection/joinTarget``).
    public var joinAnnounced: [IPNetwork]

    /// A policy from its parts.
    public init(
        name: String,
        match: PolicyMatch = PolicyMatch(),
        paths: [Int],
        backups: [Int] = [],
        backupMode: BackupMode = .onDemand,
        steering: SteeringMode = .aggregate,
        weights: [Int]? = nil,
        congestion: String? = nil,
        joinAfterMilliseconds: Int64? = nil,
        joinAnnounced: [IPNetwork] = []
    ) {
        self.joinAnnounced = joinAnnounced
        self.steering = steering
        precondition(weights == nil || weights?.count == paths.count, "one weight per primary path")
        self.weights = weights ?? Array(repeating: 1, count: paths.count)
        self.joinAfterMilliseconds = joinAfterMilliseconds
        self.name = name
        self.match = match
        self.paths = paths
        self.backups = backups
        self.backupMode = backupMode
        self.congestion = congestion
    }

    /// The policy's primaries as a bit mask (bit N is path N).
    public var primaryMask: UInt64 {
        var mask: UInt64 = 0
        for index in paths { mask |= 1 << UInt64(index) }
        return mask
    }

    /// Every path the policy allows, primaries and backups, as a bit mask (bit N is path N).
    public var allowedMask: UInt64 {
        var mask: UInt64 = 0
        for index in paths { mask |= 1 << UInt64(index) }
        for index in backups { mask |= 1 << UInt64(index) }
        return mask
    }
}
