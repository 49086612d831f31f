/// Whether a path carries traffic normally (primary) or only when no primary is left (backup).
public enum PathClass: String, Sendable, Hashable, CaseIterable {
    /// Carries subflows whenever it is up and a policy names it.
    case primary
    /// Stays idle (standby subflow flagged backup, or no subflow at all) until no primary is left.
    case backup
}
