/// How a policy spreads a connection over its primary paths (`[[policy]] mode`); docs/PATH-MANAGER.md has
/// what each does to subflows and flags.
public enum SteeringMode: String, Sendable, Hashable, CaseIterable {
    /// Every up primary carries a normal subflow; the connection starts on the first up primary.
    case aggregate
    /// Only the first up primary (in the policy's order) carries data; every other up primary keeps a
    /// subflow flagged backup (MP_PRIO), promoted the moment the active one goes down.
    case activeStandby = "active-standby"
    /// As `aggregate`, but new connections start on the primaries in proportion to their weights.
    case weighted
    /// As `aggregate`, but new connections start on the up primary with the lowest RTT the health checks
    /// measured (`[health]`); unmeasured primaries come after measured ones, in the policy's order.
    case lowestRTT = "lowest-rtt"
}
