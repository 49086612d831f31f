/// The netlink protocols this library speaks (the third argument of `socket(AF_NETLINK, …)`).
public enum NetlinkProtocol: Int32, Sendable {
    /// `NETLINK_ROUTE`: links, addresses, routes.
    case route = 0
    /// `NETLINK_GENERIC`: generic netlink families such as `mptcp_pm`.
    case generic = 16
}
