import ConvertProtocol
import Testing

@testable import Netlink

/// Our requests against the bytes iproute2 sent for the same command (endpoint and limits commands), or
/// against bytes the kernel accepted (userspace path manager commands, which iproute2 6.1 lacks).
@Suite struct MPTCPPathManagerRequestTests {
    let family: UInt16 = 0x1C
    let token: UInt32 = 0xECBF_4A78

    @Test func endpointAddIPv4MatchesIproute2() {
        let address = MPTCPAddress(address: IPAddress("198.18.1.1")!, flags: [.subflow, .backup], interfaceIndex: 3)
        let ours = MPTCPPathManagerRequest.addEndpoint(familyID: family, sequence: 1, address: address)
        #expect(withoutSequenceAndPort(ours) == withoutSequenceAndPort(Fixtures.endpointAddIPv4Request))
    }

    @Test func endpointAddIPv6MatchesIproute2() {
        let address = MPTCPAddress(address: IPAddress("2001:db8::1")!, port: 5555, id: 7, flags: .signal)
        let ours = MPTCPPathManagerRequest.addEndpoint(familyID: family, sequence: 1, address: address)
        #expect(withoutSequenceAndPort(ours) == withoutSequenceAndPort(Fixtures.endpointAddIPv6Request))
    }

    @Test func endpointDeleteMatchesIproute2() {
        let ours = MPTCPPathManagerRequest.deleteEndpoint(familyID: family, sequence: 1, id: 7)
        #expect(withoutSequenceAndPort(ours) == withoutSequenceAndPort(Fixtures.endpointDeleteRequest))
    }

    @Test func endpointDumpMatchesIproute2() {
        let ours = MPTCPPathManagerRequest.dumpEndpoints(familyID: family, sequence: 0)
        #expect(ours == Fixtures.endpointDumpRequest)
    }

    @Test func limitsMatchIproute2() {
        let set = MPTCPPathManagerRequest.setLimits(familyID: family, sequence: 1, subflows: 4, acceptedAddresses: 3)
        #expect(withoutSequenceAndPort(set) == withoutSequenceAndPort(Fixtures.limitsSetRequest))
        // iproute2 reads the limits without NLM_F_ACK; we ask for the ack to know where the reply ends.
        let get = MPTCPPathManagerRequest.getLimits(familyID: family, sequence: 1)
        #expect(withoutFlags(get) == withoutFlags(Fixtures.limitsGetRequest))
        #expect(get[6] == UInt8(NetlinkFlags.request | NetlinkFlags.ack))
    }

    @Test func subflowCreateMatchesAcceptedBytes() {
        let ours = MPTCPPathManagerRequest.subflowCreate(
            familyID: family,
            sequence: 2,
            token: token,
            local: MPTCPAddress(address: IPAddress("198.18.2.1")!, id: 5),
            remote: MPTCPAddress(address: IPAddress("198.18.2.2")!, port: 5000)
        )
        #expect(ours == Fixtures.subflowCreateRequest)
    }

    @Test func setFlagsMatchesAcceptedBytes() {
        let local = MPTCPAddress(address: IPAddress("198.18.2.1")!)
        let ours = MPTCPPathManagerRequest.setFlags(
            familyID: family,
            sequence: 3,
            token: token,
            local: local,
            remote: MPTCPAddress(address: IPAddress("198.18.2.2")!, port: 5000),
            backup: true
        )
        #expect(ours == Fixtures.setFlagsBackupRequest)
        let withoutPort = MPTCPPathManagerRequest.setFlags(
            familyID: family,
            sequence: 4,
            token: token,
            local: local,
            remote: MPTCPAddress(address: IPAddress("198.18.2.2")!),
            backup: true
        )
        #expect(withoutPort == Fixtures.setFlagsWithoutRemotePortRequest)
    }

    @Test func subflowDestroyMatchesAcceptedBytes() {
        let ours = MPTCPPathManagerRequest.subflowDestroy(
            familyID: family,
            sequence: 5,
            token: token,
            local: MPTCPAddress(address: IPAddress("198.18.2.1")!, port: 32921),
            remote: MPTCPAddress(address: IPAddress("198.18.2.2")!, port: 5000)
        )
        #expect(ours == Fixtures.subflowDestroyRequest)
    }

    @Test func announceAndRemoveMatchAcceptedBytes() {
        let announce = MPTCPPathManagerRequest.announce(
            familyID: family,
            sequence: 6,
            token: token,
            address: MPTCPAddress(address: IPAddress("198.18.2.1")!, id: 5)
        )
        #expect(announce == Fixtures.announceRequest)
        let remove = MPTCPPathManagerRequest.remove(familyID: family, sequence: 7, token: token, localID: 5)
        #expect(remove == Fixtures.removeRequest)
    }

    @Test func commandNames() {
        #expect(MPTCPPathManagerCommand.subflowCreate.operationName == "mptcp_pm SUBFLOW_CREATE")
        #expect(MPTCPPathManagerCommand.allCases.map(\.rawValue) == Array(1...11))
    }
}
