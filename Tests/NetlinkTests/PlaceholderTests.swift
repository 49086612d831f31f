import Testing

@testable import Netlink

@Test func placeholder() { #expect(NetlinkMessage(type: 1).type == 1) }
