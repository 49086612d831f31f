/// A change the path manager makes to one connection's subflows.
public enum SubflowAction: Sendable, Hashable {
    /// Open a subflow from `path`'s source to the connection's join target (`target` 0) or to the announced
    /// address with id `target` (the policy's `join_announced`), flagged backup or not.
    case create(path: Int, backup: Bool, target: UInt8 = 0)
    /// Close this subflow (its path is down, or the policy no longer wants it).
    case destroy(ManagedSubflow)
    /// Flag this subflow backup (demote) or clear the flag (promote), with MP_PRIO.
    case setBackup(ManagedSubflow, Bool)
    /// Every path the policy allows is down: the connection is closed.
    case close
}
