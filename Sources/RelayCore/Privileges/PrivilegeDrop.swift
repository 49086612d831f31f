internal import CLiburing

#if canImport(Glibc)
import Glibc
#endif

/// Switches a relay started as root to an unprivileged user (`[runtime] user`, optionally `group`) once
/// everything that needs root is done, keeping only the capabilities it still needs (``CapabilitySet/relay``).
///
/// Linux keeps credentials per thread. glibc's setgroups, setgid and setuid change the ids of every thread
/// of the process, but only the calling thread keeps capabilities across the switch (PR_SET_KEEPCAPS and
/// capset act on the calling thread): every other thread that exists at that moment is left with none.
/// So call ``apply(handingOver:)`` on the thread that then starts the threads needing the capabilities (the
/// path manager, the workers): a new thread inherits its creator's capabilities.
public struct PrivilegeDrop: Sendable, Hashable {
    /// The user to run as.
    public var user: String
    /// The group to run as; nil for the user's primary group.
    public var group: String?
    /// The capabilities kept, in the permitted and effective sets (nothing inheritable or ambient).
    public var keep: CapabilitySet

    /// A switch to `user` (and `group`, default the user's primary group) keeping `keep`.
    public init(user: String, group: String? = nil, keep: CapabilitySet = .relay) {
        self.user = user
        self.group = group
        self.keep = keep
    }

    /// Drops root: narrows the bounding set to `keep`, clears the ambient set, hands `paths` (that exist) to
    /// the user, clears the supplementary groups, sets the group and user ids, and makes `keep` the calling
    /// thread's permitted and effective sets. Checks that root cannot be regained, and returns who the
    /// thread is now.
    public func apply(handingOver paths: [String] = []) throws(PrivilegeDropError) -> ProcessIdentity {
        guard geteuid() == 0 else { throw .notRoot(uid: geteuid()) }
        guard let account = UserAccount.named(user) else { throw .unknownUser(user) }
        var gid = account.gid
        if let group {
            guard let id = UserAccount.groupID(named: group) else { throw .unknownGroup(group) }
            gid = id
        }
        do throws(SystemCallError) {
            try Self.prctl(CLiburing_PR_SET_KEEPCAPS, 1, name: "prctl(PR_SET_KEEPCAPS)")
            for capability in 0...CapabilitySet.lastCapability()
            where !keep.contains(CapabilitySet(rawValue: 1 << UInt64(capability))) {
                // EINVAL: a capability this kernel does not have.
                try Self.prctl(
                    CLiburing_PR_CAPBSET_DROP,
                    UInt(capability),
                    name: "prctl(PR_CAPBSET_DROP, \(capability))",
                    ignoring: EINVAL
                )
            }
            try Self.prctl(
                CLiburing_PR_CAP_AMBIENT,
                UInt(CLiburing_PR_CAP_AMBIENT_CLEAR_ALL),
                name: "prctl(PR_CAP_AMBIENT_CLEAR_ALL)",
                ignoring: EINVAL
            )
            for path in paths where chown(path, account.uid, gid) != 0 && errno != ENOENT {
                throw SystemCallError("chown(\(path))", errno: errno)
            }
            guard setgroups(0, nil) == 0 else { throw SystemCallError("setgroups", errno: errno) }
            guard setgid(gid) == 0 else { throw SystemCallError("setgid(\(gid))", errno: errno) }
            guard setuid(account.uid) == 0 else { throw SystemCallError("setuid(\(account.uid))", errno: errno) }
            try keep.applyToCallingThread()
            try Self.prctl(CLiburing_PR_SET_KEEPCAPS, 0, name: "prctl(PR_SET_KEEPCAPS)")
            guard setuid(0) != 0 else { throw SystemCallError("setuid(0) succeeded after the drop", errno: EPERM) }
            let now = try CapabilitySet.ofCallingThread()
            guard now.permitted == keep, now.effective == keep else {
                throw SystemCallError("capget: permitted \(now.permitted), effective \(now.effective)", errno: EPERM)
            }
        } catch {
            throw .systemCall(error)
        }
        return ProcessIdentity(user: account.name, uid: account.uid, gid: gid, capabilities: keep)
    }

    /// prctl(`option`, `argument`); throws unless it succeeds or fails with `ignoring`.
    private static func prctl(
        _ option: Int32,
        _ argument: UInt,
        name: String,
        ignoring ignored: Int32 = 0
    ) throws(SystemCallError) {
        let result = CLiburing_prctl(option, argument, 0)
        if result < 0 && -result != ignored { throw SystemCallError(name, errno: -result) }
    }
}
