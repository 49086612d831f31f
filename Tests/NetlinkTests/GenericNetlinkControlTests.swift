import Testing

@testable import Netlink

@Suite struct GenericNetlinkControlTests {
    @Test func requestMatchesIproute2ExceptTheAckFlag() {
        let ours = GenericNetlinkControl.getFamilyRequest(name: "mptcp_pm", sequence: 1)
        #expect(withoutFlags(ours) == withoutFlags(Fixtures.genericFamilyRequestByIproute2))
        #expect(ours[6] == UInt8(NetlinkFlags.request | NetlinkFlags.ack))
    }

    @Test func decodesTheMPTCPFamily() throws {
        let message = try #require(try NetlinkDecoder.messages(Fixtures.genericFamilyReply).first)
        let family = try GenericNetlinkControl.family(from: message)
        #expect(family.id == 0x1C)
        #expect(family.name == "mptcp_pm")
        #expect(family.version == 1)
        #expect(family.multicastGroups == ["mptcp_pm_cmds": 8, "mptcp_pm_events": 9])
    }

    @Test func rejectsOtherMessages() throws {
        let message = try #require(try NetlinkDecoder.messages(Fixtures.limitsGetReply).first)
        #expect(throws: NetlinkDecodingError.self) { try GenericNetlinkControl.family(from: message) }
    }
}
