import ConvertProtocol
import Glibc
import Testing

@testable import Netlink

/// The in-kernel path manager commands against the running kernel, inside a throwaway namespace.
@Suite(.serialized, .enabled(if: TestNamespace.isRoot, "needs root for ip netns and setns"))
struct LiveMPTCPPathManagerTests {
    @Test func resolvesTheFamilyAndItsEventGroup() throws {
        let namespace = try TestNamespace(role: "pm")
        defer { namespace.delete() }
        let family = try namespace.run {
            let socket = try NetlinkSocket(.generic)
            return try socket.resolveFamily("mptcp_pm")
        }
        #expect(family.name == "mptcp_pm" && family.id > 0x10 && family.version == 1)
        #expect(family.multicastGroups["mptcp_pm_events"] != nil)
    }

    @Test func unknownFamilyThrowsENOENT() throws {
        let namespace = try TestNamespace(role: "pm")
        defer { namespace.delete() }
        let error = try namespace.run { () -> NetlinkError? in
            do throws(NetlinkError) {
                _ = try NetlinkSocket(.generic).resolveFamily("no_such_family")
                return nil
            } catch {
                return error
            }
        }
        #expect(error?.errno == ENOENT)
        #expect(error?.operation == "nlctrl GETFAMILY no_such_family")
    }

    @Test func endpointsAndLimitsRoundTrip() throws {
        let namespace = try TestNamespace(role: "pm")
        defer { namespace.delete() }
        try shell("ip -n \(namespace.name) link add v0 type veth peer name v1")
        try shell("ip -n \(namespace.name) link set v0 up")
        // A signal endpoint with a port opens a listener, which needs the address to be local.
        try shell("ip -n \(namespace.name) addr add 2001:db8::7/64 dev v0 nodad")
        let index = try namespace.run { Int32(if_nametoindex("v0")) }
        let address = MPTCPAddress(
            address: IPAddress("198.18.1.1")!,
            id: 9,
            flags: [.subflow, .backup],
            interfaceIndex: index
        )
        let v6 = MPTCPAddress(address: IPAddress("2001:db8::7")!, port: 5555, id: 10, flags: .signal)

        let (added, limits) = try namespace.run { () -> ([MPTCPAddress], MPTCPLimits) in
            let socket = try NetlinkSocket(.generic)
            let family = try socket.resolveFamily("mptcp_pm").id
            for endpoint in [address, v6] {
                _ = try socket.request(
                    MPTCPPathManagerRequest.addEndpoint(
                        familyID: family,
                        sequence: socket.nextSequence(),
                        address: endpoint
                    ),
                    operation: MPTCPPathManagerCommand.addAddress.operationName
                )
            }
            let dump = try socket.request(
                MPTCPPathManagerRequest.dumpEndpoints(familyID: family, sequence: socket.nextSequence()),
                operation: MPTCPPathManagerCommand.getAddress.operationName
            )
            _ = try socket.request(
                MPTCPPathManagerRequest.setLimits(
                    familyID: family,
                    sequence: socket.nextSequence(),
                    subflows: 5,
                    acceptedAddresses: 6
                ),
                operation: MPTCPPathManagerCommand.setLimits.operationName
            )
            let limits = try socket.request(
                MPTCPPathManagerRequest.getLimits(familyID: family, sequence: socket.nextSequence()),
                operation: MPTCPPathManagerCommand.getLimits.operationName
            )
            return (
                try MPTCPPathManagerReply.endpoints(dump, familyID: family),
                try MPTCPPathManagerReply.limits(limits, familyID: family)
            )
        }
        #expect(added == [address, v6])
        #expect(limits == MPTCPLimits(subflows: 5, acceptedAddresses: 6))
        let shown = try shell("ip -n \(namespace.name) mptcp endpoint show")
        #expect(shown.contains("198.18.1.1 id 9 subflow backup dev v0"))
        #expect(shown.contains("2001:db8::7 port 5555 id 10 signal"))
        #expect(try shell("ip -n \(namespace.name) mptcp limits show").contains("subflows 5"))

        let remaining = try namespace.run { () -> [MPTCPAddress] in
            let socket = try NetlinkSocket(.generic)
            let family = try socket.resolveFamily("mptcp_pm").id
            _ = try socket.request(
                MPTCPPathManagerRequest.deleteEndpoint(familyID: family, sequence: socket.nextSequence(), id: 9),
                operation: MPTCPPathManagerCommand.deleteAddress.operationName
            )
            let dump = try socket.request(
                MPTCPPathManagerRequest.dumpEndpoints(familyID: family, sequence: socket.nextSequence()),
                operation: MPTCPPathManagerCommand.getAddress.operationName
            )
            return try MPTCPPathManagerReply.endpoints(dump, familyID: family)
        }
        #expect(remaining == [v6])
        #expect(!(try shell("ip -n \(namespace.name) mptcp endpoint show").contains("198.18.1.1")))
    }

    @Test func errorReplyThrowsWithErrnoAndKernelText() throws {
        let namespace = try TestNamespace(role: "pm")
        defer { namespace.delete() }
        let error = try namespace.run { () -> NetlinkError? in
            let socket = try NetlinkSocket(.generic)
            let family = try socket.resolveFamily("mptcp_pm").id
            do throws(NetlinkError) {
                _ = try socket.request(
                    MPTCPPathManagerRequest.deleteEndpoint(familyID: family, sequence: socket.nextSequence(), id: 77),
                    operation: MPTCPPathManagerCommand.deleteAddress.operationName
                )
                return nil
            } catch {
                return error
            }
        }
        guard let thrown = error else {
            Issue.record("deleting a missing endpoint did not throw")
            return
        }
        #expect(thrown.errno == EINVAL)
        #expect(thrown.operation == "mptcp_pm DEL_ADDR")
        #expect(thrown.message == "address not found")
        #expect(thrown.description.hasPrefix("mptcp_pm DEL_ADDR: Invalid argument (errno 22)"))
    }
}
