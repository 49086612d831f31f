/// Who opens a connection's extra subflows (`[runtime] path_manager`).
public enum PathManagerMode: String, Sendable, Hashable, CaseIterable {
    /// The relay is the namespace's userspace path manager: subflows per connection and policy, backup
    /// promotion on failure.
    case relay
    /// The kernel's in-kernel path manager, with one `ip mptcp endpoint` per configured path.
    case kernel
    /// The relay leaves path management alone (whatever the host configured).
    case none
}
