/// rtnetlink dump requests for every family (`AF_UNSPEC`), with `NLM_F_REQUEST | NLM_F_DUMP`; decode the
/// replies with ``RouteNetlinkEvent/decode(_:)``.
public enum RouteNetlinkRequest {
    /// `RTM_GETLINK` dump: every interface.
    public static func dumpLinks(sequence: UInt32) -> [UInt8] {
        dump(RouteNetlinkMessageType.getLink, headerLength: 16, sequence: sequence)
    }

    /// `RTM_GETADDR` dump: every address of every interface, IPv4 and IPv6.
    public static func dumpAddresses(sequence: UInt32) -> [UInt8] {
        dump(RouteNetlinkMessageType.getAddress, headerLength: 8, sequence: sequence)
    }

    /// `RTM_GETROUTE` dump: every route of every table, IPv4 and IPv6.
    public static func dumpRoutes(sequence: UInt32) -> [UInt8] {
        dump(RouteNetlinkMessageType.getRoute, headerLength: 12, sequence: sequence)
    }

    /// A dump request whose family header (`ifinfomsg` 16, `ifaddrmsg` 8, `rtmsg` 12 bytes) is all zeros.
    private static func dump(_ type: UInt16, headerLength: Int, sequence: UInt32) -> [UInt8] {
        var builder = NetlinkMessageBuilder(
            type: type,
            flags: NetlinkFlags.request | NetlinkFlags.dump,
            sequence: sequence
        )
        builder.appendHeader([UInt8](repeating: 0, count: headerLength))
        return builder.bytes()
    }
}
