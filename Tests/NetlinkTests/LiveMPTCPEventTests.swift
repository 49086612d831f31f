import ConvertProtocol
import Glibc
import Testing

@testable import Netlink

/// The userspace path manager against the running kernel: a real MPTCP connection between two namespaces
/// (client 198.18.0.1 and 198.18.2.1, server 198.18.0.2 and 198.18.2.2 over two veth pairs), its events, and
/// SUBFLOW_CREATE, SET_FLAGS and SUBFLOW_DESTROY on it.
@Suite(.serialized, .enabled(if: TestNamespace.isRoot, "needs root for ip netns and setns"))
struct LiveMPTCPEventTests {
    /// What the client namespace thread saw.
    struct Observed: Sendable {
        var events: [MPTCPEvent] = []
        var subflowsAfterBackup = ""
        var failure: String?
    }

    @Test func userspacePathManagerDrivesASubflow() throws {
        let client = try TestNamespace(role: "cli")
        defer { client.delete() }
        let server = try TestNamespace(role: "srv")
        defer { server.delete() }
        for (index, pair) in [("a1", "b1"), ("a2", "b2")].enumerated() {
            try shell("ip -n \(client.name) link add \(pair.0) type veth peer name \(pair.1) netns \(server.name)")
            try shell("ip -n \(client.name) link set \(pair.0) up && ip -n \(server.name) link set \(pair.1) up")
            let subnet = index * 2
            try shell("ip -n \(client.name) addr add 198.18.\(subnet).1/24 dev \(pair.0)")
            try shell("ip -n \(server.name) addr add 198.18.\(subnet).2/24 dev \(pair.1)")
        }
        try client.exec("sysctl -qw net.mptcp.path_manager=userspace")
        try shell("ip -n \(server.name) mptcp limits set subflows 4 add_addr_accepted 4")

        let listener = try server.run { try MPTCPTestConnection.listen(port: 5000) }
        MPTCPTestConnection.serveOnce(listener, seconds: 20)

        let clientName = client.name
        let observed = try client.run { () -> Observed in
            var observed = Observed()
            let requests = try NetlinkSocket(.generic)
            let family = try requests.resolveFamily("mptcp_pm")
            let events = try NetlinkSocket(.generic)
            guard let group = family.multicastGroups["mptcp_pm_events"] else {
                observed.failure = "no mptcp_pm_events group"
                return observed
            }
            try events.joinGroup(group)

            /// Collects events until one of `kind` arrives (at most `attempts` × 100 ms).
            func wait(for kind: MPTCPEventKind, attempts: Int = 50) throws -> MPTCPEvent? {
                for _ in 0..<attempts {
                    for message in try events.receive(timeoutMilliseconds: 100) {
                        guard let event = try? MPTCPEvent.decode(message, familyID: family.id) else { continue }
                        observed.events.append(event)
                        if event.kind == kind { return event }
                    }
                }
                return nil
            }

            let connection = try MPTCPTestConnection.connect(to: 0xC612_0002, port: 5000)
            var open = true
            defer { if open { close(connection) } }
            guard let established = try wait(for: .established) else {
                observed.failure = "no ESTABLISHED event"
                return observed
            }
            let token = established.token
            let local = MPTCPAddress(address: IPAddress("198.18.2.1")!)
            let remote = MPTCPAddress(address: IPAddress("198.18.2.2")!, port: 5000)
            _ = try requests.request(
                MPTCPPathManagerRequest.subflowCreate(
                    familyID: family.id,
                    sequence: requests.nextSequence(),
                    token: token,
                    local: local,
                    remote: remote
                ),
                operation: MPTCPPathManagerCommand.subflowCreate.operationName
            )
            guard let subflow = try wait(for: .subflowEstablished) else {
                observed.failure = "no SUB_ESTABLISHED event"
                return observed
            }
            _ = try requests.request(
                MPTCPPathManagerRequest.setFlags(
                    familyID: family.id,
                    sequence: requests.nextSequence(),
                    token: token,
                    local: local,
                    remote: remote,
                    backup: true
                ),
                operation: MPTCPPathManagerCommand.setFlags.operationName
            )
            // The side that sends MP_PRIO gets no SUB_PRIORITY event (only the peer does); ss shows the flag.
            _ = try wait(for: .subflowPriority, attempts: 10)
            observed.subflowsAfterBackup = (try? shell("ip netns exec \(clientName) ss -tniM")) ?? ""
            var localWithPort = local
            localWithPort.port = subflow.localPort
            _ = try requests.request(
                MPTCPPathManagerRequest.subflowDestroy(
                    familyID: family.id,
                    sequence: requests.nextSequence(),
                    token: token,
                    local: localWithPort,
                    remote: remote
                ),
                operation: MPTCPPathManagerCommand.subflowDestroy.operationName
            )
            guard try wait(for: .subflowClosed) != nil else {
                observed.failure = "no SUB_CLOSED event"
                return observed
            }
            close(connection)
            open = false
            _ = try wait(for: .closed)
            return observed
        }

        #expect(observed.failure == nil, "\(observed.failure ?? "")")
        let events = observed.events
        let created = try #require(events.first { $0.kind == .created })
        #expect(created.localAddress == IPAddress("198.18.0.1")! && created.remoteAddress == IPAddress("198.18.0.2")!)
        #expect(created.remotePort == 5000 && created.localPort != nil && created.serverSide == false)
        let established = try #require(events.first { $0.kind == .established })
        #expect(established.token == created.token && established.localPort == created.localPort)
        let subflow = try #require(events.first { $0.kind == .subflowEstablished })
        #expect(subflow.token == created.token && subflow.backup == false)
        #expect(subflow.localAddress == IPAddress("198.18.2.1")! && subflow.remoteAddress == IPAddress("198.18.2.2")!)
        #expect(subflow.remotePort == 5000)
        // The backup subflow's ss line ends with its MPTCP flags: "b" is backup on the local side.
        let backupLine = observed.subflowsAfterBackup.split(separator: "\n").first {
            $0.contains("tcp-ulp-mptcp") && $0.contains("flags:J")
        }
        #expect(backupLine.map { $0.contains(/flags:[A-Za-z]*b/) } == true, "\(observed.subflowsAfterBackup)")
        let closedSubflow = try #require(events.first { $0.kind == .subflowClosed })
        #expect(closedSubflow.localPort == subflow.localPort && closedSubflow.remotePort == 5000)
        #expect(events.contains { $0.kind == .closed && $0.token == created.token })
        #expect(!events.contains { $0.kind == .subflowPriority })
    }

    /// What the client saw of a connection the server reset with MP_FASTCLOSE.
    struct FastClosed: Sendable {
        var events: [MPTCPEvent] = []
        var probeWhileOpen: String = ""
        var probeAfterReset: String = ""
        var failure: String?
    }

    /// The kernel forgets a connection the peer resets with MP_FASTCLOSE and sends no CLOSED event for it,
    /// not even when the socket is closed (Linux 6.18; docs/PATH-MANAGER.md): a userspace path manager must
    /// find such connections itself. The token probe tells a known token from a forgotten one.
    @Test func aFastClosedConnectionIsForgottenAndTheTokenProbeSaysSo() throws {
        let client = try TestNamespace(role: "cli")
        defer { client.delete() }
        let server = try TestNamespace(role: "srv")
        defer { server.delete() }
        try shell("ip -n \(client.name) link add a1 type veth peer name b1 netns \(server.name)")
        try shell("ip -n \(client.name) link set a1 up && ip -n \(server.name) link set b1 up")
        try shell("ip -n \(client.name) addr add 198.18.0.1/24 dev a1")
        try shell("ip -n \(server.name) addr add 198.18.0.2/24 dev b1")
        try client.exec("sysctl -qw net.mptcp.path_manager=userspace")

        let listener = try server.run { try MPTCPTestConnection.listen(port: 5001) }
        MPTCPTestConnection.acceptAndAbort(listener, seconds: 20)

        let seen = try client.run { () -> FastClosed in
            var seen = FastClosed()
            let requests = try NetlinkSocket(.generic)
            let family = try requests.resolveFamily("mptcp_pm")
            let events = try NetlinkSocket(.generic)
            guard let group = family.multicastGroups["mptcp_pm_events"] else {
                seen.failure = "no mptcp_pm_events group"
                return seen
            }
            try events.joinGroup(group)
            func collect(attempts: Int, until kind: MPTCPEventKind? = nil) throws {
                for _ in 0..<attempts {
                    for message in try events.receive(timeoutMilliseconds: 100) {
                        guard let event = try? MPTCPEvent.decode(message, familyID: family.id) else { continue }
                        seen.events.append(event)
                        if event.kind == kind { return }
                    }
                }
            }
            func probe(_ token: UInt32) -> String {
                do {
                    _ = try requests.request(
                        MPTCPPathManagerRequest.tokenProbe(
                            familyID: family.id,
                            sequence: requests.nextSequence(),
                            token: token
                        ),
                        operation: "token probe"
                    )
                    return "accepted"
                } catch {
                    return error.isUnknownToken ? "unknown" : "known: \(error)"
                }
            }

            let connection = try MPTCPTestConnection.connect(to: 0xC612_0002, port: 5001)
            defer { close(connection) }
            try collect(attempts: 50, until: .established)
            guard let token = seen.events.first(where: { $0.kind == .established })?.token else {
                seen.failure = "no ESTABLISHED event"
                return seen
            }
            seen.probeWhileOpen = probe(token)
            // The server closes with our "hello" unread: MP_FASTCLOSE. Wait for the reset to arrive.
            var readable = pollfd(fd: connection, events: Int16(POLLIN), revents: 0)
            _ = poll(&readable, 1, 10_000)
            var byte: UInt8 = 0
            let received = recv(connection, &byte, 1, 0)
            guard received < 0 && errno == ECONNRESET else {
                seen.failure = "the connection was not reset (recv \(received), errno \(errno))"
                return seen
            }
            seen.probeAfterReset = probe(token)
            close(connection)
            try collect(attempts: 10, until: .closed)
            return seen
        }

        #expect(seen.failure == nil, "\(seen.failure ?? "")")
        #expect(seen.probeWhileOpen.hasPrefix("known"), "probe of a live connection: \(seen.probeWhileOpen)")
        #expect(seen.probeAfterReset == "unknown", "probe after MP_FASTCLOSE: \(seen.probeAfterReset)")
        // What makes the probe necessary; if a kernel starts sending it, the sweep simply finds nothing.
        let closed = seen.events.contains { $0.kind == .closed }
        print(
            "live MPTCP events: CLOSED after a received MP_FASTCLOSE: \(closed ? "sent" : "not sent"); probe of a live token: \(seen.probeWhileOpen)"
        )
    }
}
