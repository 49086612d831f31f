/// rtnetlink multicast groups (`RTNLGRP_*`) for ``NetlinkSocket/joinGroup(_:)``.
public enum RouteNetlinkGroup {
    /// `RTNLGRP_LINK`: `RTM_NEWLINK`/`RTM_DELLINK`.
    public static let link: UInt32 = 1
    /// `RTNLGRP_IPV4_IFADDR`.
    public static let ipv4Address: UInt32 = 5
    /// `RTNLGRP_IPV4_ROUTE`.
    public static let ipv4Route: UInt32 = 7
    /// `RTNLGRP_IPV6_IFADDR`.
    public static let ipv6Address: UInt32 = 9
    /// `RTNLGRP_IPV6_ROUTE`.
    public static let ipv6Route: UInt32 = 11
}
