#if canImport(Glibc)
import Glibc
#endif

/// Why the relay could not switch to its `[runtime] user`; each message says what to do instead.
public enum PrivilegeDropError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The process did not start as root, so it cannot change its user.
    case notRoot(uid: UInt32)
    /// The user database has no such user.
    case unknownUser(String)
    /// The group database has no such group.
    case unknownGroup(String)
    /// A step of the switch failed.
    case systemCall(SystemCallError)

    public var description: String {
        switch self {
        case .notRoot(let uid):
            "[runtime] user needs the relay to start as root, but it runs as uid \(uid): start it as root, or "
                + "leave `user` out and start it as that user with CAP_NET_ADMIN and CAP_NET_BIND_SERVICE "
                + "(setpriv --ambient-caps, systemd AmbientCapabilities=)"
        case .unknownUser(let name):
            "[runtime] user: no user \"\(name)\" on this system (getpwnam); create it or name another"
        case .unknownGroup(let name):
            "[runtime] group: no group \"\(name)\" on this system (getgrnam); create it or name another"
        case .systemCall(let error):
            "could not drop root privileges: \(error)"
        }
    }
}
