import ConvertProtocol
import Testing

@testable import Netlink

@Suite struct MPTCPPathManagerReplyTests {
    @Test func decodesTheEndpointDump() throws {
        let messages = try NetlinkDecoder.messages(Fixtures.endpointDumpReply)
        let endpoints = try MPTCPPathManagerReply.endpoints(messages, familyID: 0x1C)
        #expect(
            endpoints == [
                MPTCPAddress(address: IPAddress("198.18.1.1")!, id: 1, flags: [.subflow, .backup], interfaceIndex: 3),
                MPTCPAddress(address: IPAddress("2001:db8::1")!, port: 5555, id: 7, flags: .signal),
            ]
        )
    }

    @Test func decodesTheLimits() throws {
        let messages = try NetlinkDecoder.messages(Fixtures.limitsGetReply)
        #expect(
            try MPTCPPathManagerReply.limits(messages, familyID: 0x1C)
                == MPTCPLimits(subflows: 4, acceptedAddresses: 3)
        )
        #expect(throws: NetlinkDecodingError.self) { try MPTCPPathManagerReply.limits([], familyID: 0x1C) }
    }

    @Test func readsTheExtendedAckOfAnUncappedError() throws {
        let message = try #require(try NetlinkDecoder.messages(Fixtures.endpointDeleteMissingReply).first)
        #expect(message.type == NetlinkMessageType.error)
        #expect(message.payload.loadHostOrder(Int32.self, at: 0) == -22)
        #expect(NetlinkSocket.extendedAckMessage(message) == "address not found")
    }

    @Test func ackIsCappedAndCarriesNoText() throws {
        let message = try #require(try NetlinkDecoder.messages(Fixtures.endpointAddAck).first)
        #expect(message.flags == NetlinkFlags.capped)
        #expect(message.payload.loadHostOrder(Int32.self, at: 0) == 0)
        #expect(NetlinkSocket.extendedAckMessage(message) == nil)
    }

    @Test func errorDescriptionNamesTheOperation() {
        let error = NetlinkError(operation: "mptcp_pm SUBFLOW_CREATE", errno: 2)
        #expect(error.description == "mptcp_pm SUBFLOW_CREATE: No such file or directory (errno 2)")
        let explained = NetlinkError(operation: "mptcp_pm DEL_ADDR", errno: 22, message: "address not found")
        #expect(explained.description == "mptcp_pm DEL_ADDR: Invalid argument (errno 22): address not found")
    }
}
