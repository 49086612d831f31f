#if canImport(Glibc)
import Glibc
#endif

/// Who the relay runs as: its user, ids and the capabilities of the calling thread, for the start-up log.
public struct ProcessIdentity: Sendable, Hashable, CustomStringConvertible {
    /// The user name (the numeric id when the user database has none).
    public var user: String
    /// The real and effective user id.
    public var uid: UInt32
    /// The real and effective group id.
    public var gid: UInt32
    /// The calling thread's effective capabilities.
    public var capabilities: CapabilitySet

    /// The identity of the calling thread now.
    public static func current() -> ProcessIdentity {
        let uid = geteuid()
        return ProcessIdentity(
            user: UserAccount.name(of: uid) ?? "\(uid)",
            uid: uid,
            gid: getegid(),
            capabilities: (try? CapabilitySet.ofCallingThread().effective) ?? []
        )
    }

    public var description: String {
        "user=\(user) uid=\(uid) gid=\(gid) capabilities=\(capabilities)"
    }
}
