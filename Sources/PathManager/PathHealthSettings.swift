/// When a path counts as degraded (`[health]`): passive checks on the relay's own subflows of each path.
/// A path whose subflows retransmit more than `degradedLoss` of what they send, or whose smoothed RTT
/// exceeds `degradedRTTMilliseconds`, is degraded; it gets a trial `recoverAfterMilliseconds` after its last
/// bad sample, doubled for each trial it failed.
public struct PathHealthSettings: Sendable, Hashable {
    /// The share of sent bytes retransmitted above which a path is degraded (0 < x < 1).
    public var degradedLoss: Double
    /// The mean smoothed RTT of a path's subflows above which it is degraded, in milliseconds.
    public var degradedRTTMilliseconds: Int64
    /// How long after its last bad sample a degraded path gets a trial, in milliseconds (before doubling).
    public var recoverAfterMilliseconds: Int64

    /// Settings from their parts; the defaults are those of an empty `[health]` table.
    public init(
        degradedLoss: Double = 0.05,
        degradedRTTMilliseconds: Int64 = 400,
        recoverAfterMilliseconds: Int64 = 10_000
    ) {
        self.degradedLoss = degradedLoss
        self.degradedRTTMilliseconds = degradedRTTMilliseconds
        self.recoverAfterMilliseconds = recoverAfterMilliseconds
    }
}
