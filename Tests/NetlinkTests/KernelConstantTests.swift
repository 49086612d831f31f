import CLiburing
import Testing

@testable import Netlink

/// Our numbers against the C headers (Debian 12's linux-libc-dev, Linux 6.1 uapi); newer numbers (listener
/// events, laminar) were checked against include/uapi/linux/mptcp_pm.h and mptcp.h of Linux 6.18.
@Suite struct KernelConstantTests {
    @Test func netlinkAndRouteNetlink() {
        #expect(NetlinkFlags.request == UInt16(NLM_F_REQUEST) && NetlinkFlags.ack == UInt16(NLM_F_ACK))
        #expect(NetlinkFlags.dump == UInt16(NLM_F_DUMP) && NetlinkFlags.multi == UInt16(NLM_F_MULTI))
        #expect(
            NetlinkFlags.capped == UInt16(NLM_F_CAPPED)
                && NetlinkFlags.acknowledgementAttributes == UInt16(NLM_F_ACK_TLVS)
        )
        #expect(NetlinkMessageType.error == UInt16(NLMSG_ERROR) && NetlinkMessageType.done == UInt16(NLMSG_DONE))
        #expect(NetlinkProtocol.generic.rawValue == NETLINK_GENERIC && NetlinkProtocol.route.rawValue == NETLINK_ROUTE)
        #expect(GenericNetlinkControl.familyID == UInt16(GENL_ID_CTRL))
        #expect(RouteNetlinkGroup.link == RTNLGRP_LINK.rawValue)
        #expect(RouteNetlinkGroup.ipv4Address == RTNLGRP_IPV4_IFADDR.rawValue)
        #expect(RouteNetlinkGroup.ipv6Address == RTNLGRP_IPV6_IFADDR.rawValue)
        #expect(RouteNetlinkGroup.ipv4Route == RTNLGRP_IPV4_ROUTE.rawValue)
        #expect(RouteNetlinkGroup.ipv6Route == RTNLGRP_IPV6_ROUTE.rawValue)
        #expect(
            RouteNetlinkMessageType.newLink == UInt16(RTM_NEWLINK)
                && RouteNetlinkMessageType.deleteRoute == UInt16(RTM_DELROUTE)
        )
        #expect(
            RouteNetlinkMessageType.deleteAddress == UInt16(RTM_DELADDR)
                && RouteNetlinkMessageType.getRoute == UInt16(RTM_GETROUTE)
        )
        #expect(LinkState.flagUp == UInt32(IFF_UP) && LinkState.flagRunning == UInt32(IFF_RUNNING))
        #expect(
            RouteState.attributeTable == UInt16(RTA_TABLE.rawValue) && AddressState.attributeFlags == UInt16(IFA_FLAGS)
        )
    }

    @Test func mptcpPathManager() {
        #expect(MPTCPPathManagerCommand.subflowDestroy.rawValue == UInt8(MPTCP_PM_CMD_SUBFLOW_DESTROY))
        #expect(MPTCPPathManagerCommand.setFlags.rawValue == UInt8(MPTCP_PM_CMD_SET_FLAGS))
        #expect(MPTCPPathManagerAttribute.remoteAddress == UInt16(MPTCP_PM_ATTR_ADDR_REMOTE))
        #expect(MPTCPAddress.Attribute.interfaceIndex == UInt16(MPTCP_PM_ADDR_ATTR_IF_IDX))
        #expect(MPTCPEventKind.subflowPriority.rawValue == UInt8(MPTCP_EVENT_SUB_PRIORITY.rawValue))
        #expect(MPTCPEvent.Attribute.serverSide == UInt16(MPTCP_ATTR_SERVER_SIDE.rawValue))
        #expect(MPTCPEndpointFlags.implicit.rawValue == UInt32(MPTCP_PM_ADDR_FLAG_IMPLICIT))
    }
}
