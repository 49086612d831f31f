public import ConvertProtocol

/// The paths, the policies and the path manager mode: everything the relay needs to place subflows.
///
/// The policies end with an implicit `default` policy (every primary path, every backup path on demand)
/// that takes connections no configured policy matches, so ``policyIndex(for:)`` always finds one.
public struct PathPlan: Sendable, Hashable {
    /// The most paths a plan can hold (the path index is stored in 3 bits per connection).
    public static let maximumPaths = 8
    /// The most addresses a plan announces.
    public static let maximumAnnouncements = 16
    /// The most policies a plan can hold, the implicit default included, and the most the relay takes over
    /// a process's life with reloads: the board registers a connection's policy index in 7 bits.
    public static let maximumPolicies = 127

    /// Who opens subflows.
    public var mode: PathManagerMode
    /// The configured paths, in file order.
    public var paths: [PathDefinition]
    /// The configured policies in file order, then the implicit default.
    public private(set) var policies: [SubflowPolicy]
    /// This host's extra addresses that MPTCP peers are told of (ADD_ADDR), through in-kernel `signal`
    /// endpoints: a converter's other uplinks.
    public var announcements: [IPAddress]
    /// How long after a connection is fully established the relay (`relay` mode) opens its join subflows,
    /// in milliseconds. Joins opened at once corrupt the stream now and then on Linux 6.18
    /// (docs/RELIABILITY.md, finding 2).
    public var joinDelayMilliseconds: Int64
    /// Passive health checks of the paths (`[health]`); nil: none, a path is up or down.
    public var health: PathHealthSettings?

    /// The join delay used when the configuration names none (docs/RELIABILITY.md, finding 2).
    public static let defaultJoinDelayMilliseconds: Int64 = 200

    /// A plan; the implicit `default` policy is appended to `policies`.
    public init(
        mode: PathManagerMode,
        paths: [PathDefinition],
        policies: [SubflowPolicy],
        announcements: [IPAddress] = [],
        joinDelayMilliseconds: Int64 = Self.defaultJoinDelayMilliseconds,
        health: PathHealthSettings? = nil
    ) {
        self.health = health
        self.mode = mode
        self.paths = paths
        self.announcements = announcements
        self.joinDelayMilliseconds = joinDelayMilliseconds
        let primaries = paths.indices.filter { paths[$0].pathClass == .primary }
        let backups = paths.indices.filter { paths[$0].pathClass == .backup }
        self.policies = policies + [SubflowPolicy(name: "default", paths: primaries, backups: backups)]
    }

    /// This plan with `policies` as its whole list of policies (a path board's table, whose last policy in
    /// matching order need not be the last by index).
    public func replacingPolicies(_ policies: [SubflowPolicy]) -> PathPlan {
        var plan = self
        plan.policies = policies
        return plan
    }

    /// This plan without its policies, to compare what a reload cannot change (paths, mode, announcements,
    /// join delay).
    public var withoutPolicies: PathPlan { replacingPolicies([]) }

    /// Whether the relay has anything to do as path manager: paths to follow or addresses to announce.
    public var isManaged: Bool { !paths.isEmpty || !announcements.isEmpty }

    /// A plan that manages nothing: no paths, only the default policy.
    public static let unmanaged = PathPlan(mode: .none, paths: [], policies: [])

    /// The index of the first policy whose match takes `destination` (the default one when none does).
    public func policyIndex(for destination: Endpoint) -> Int {
        self.policies.firstIndex { $0.match.matches(destination) } ?? self.policies.count - 1
    }
}
