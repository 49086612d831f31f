/// A generic netlink family as the kernel's `nlctrl` describes it: the id to put in `nlmsg_type`, its
/// version and its multicast groups by name.
public struct GenericNetlinkFamily: Sendable, Equatable {
    /// The family id (`CTRL_ATTR_FAMILY_ID`), allocated by the kernel; the same in every network namespace.
    public var id: UInt16
    /// The family name (`CTRL_ATTR_FAMILY_NAME`), like `mptcp_pm`.
    public var name: String
    /// The family version (`CTRL_ATTR_VERSION`).
    public var version: UInt8
    /// Multicast group ids by name (`CTRL_ATTR_MCAST_GROUPS`), for `NETLINK_ADD_MEMBERSHIP`.
    public var multicastGroups: [String: UInt32]

    /// Creates a family description.
    public init(id: UInt16, name: String, version: UInt8, multicastGroups: [String: UInt32] = [:]) {
        self.id = id
        self.name = name
        self.version = version
        self.multicastGroups = multicastGroups
    }
}
