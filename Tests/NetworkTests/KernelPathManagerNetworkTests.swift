import Foundation
import Testing

extension NetworkTestSuites {

    /// `path_manager = "kernel"`: the relay keeps one in-kernel MPTCP endpoint per up path.
    @Suite(
        "path manager: kernel mode endpoints",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(2))
    )
    struct KernelPathManagerNetworkTests {
        @Test("endpoints follow the paths: added at start, removed while a path is down and at stop")
        func endpointsFollowPaths() async throws {
            try await RelayTestHarness.run(tag: "pk", rate: "50mbit", uplinkC: true) { harness, topology in
                // The topology's own endpoint for uplink B would collide with the relay's.
                try await ShellCommand.run(["ip", "-n", topology.gw, "mptcp", "endpoint", "flush"], seconds: 10)
                let config = PathManagerNetworkTests.gatewayConfig.replacingOccurrences(
                    of: "path_manager = \"relay\"",
                    with: "path_manager = \"kernel\""
                )
                let converter = try harness.startRelay(
                    "converter",
                    in: topology.srv,
                    config: PathManagerNetworkTests.converterConfig
                )
                let gateway = try harness.startRelay("gateway", in: topology.gw, config: config)
                try await converter.waitListening(on: 8443, in: topology, namespace: topology.srv)
                try await gateway.waitListening(on: 8000, in: topology, namespace: topology.gw)
                #expect(try await topology.pathManagerSetting(topology.gw) == "kernel")

                let endpoints = try await Self.endpoints(topology)
                #expect(endpoints.contains { $0.hasPrefix("198.18.1.1 id 200 subflow dev upa0") }, "\(endpoints)")
                #expect(endpoints.contains { $0.hasPrefix("198.18.2.1 id 202 subflow dev upb0") }, "\(endpoints)")
                #expect(
                    endpoints.contains { $0.hasPrefix("198.18.3.1 id 204 subflow backup dev upc0") },
                    "\(endpoints)"
                )

                let bytes = 16 * PathManagerNetworkTests.mebibyte
                let server = try await harness.serve("198.19.0.2:5201", bytes: bytes, in: topology.dst, name: "serve")
                let client = try harness.send("198.18.0.1:8000", bytes: bytes, in: topology.cli, name: "bulk")
                let view = try await topology.waitForSubflows(in: topology.gw, remotePort: 8443) {
                    $0.first?.count == 3
                }
                #expect(view.first?.map(\.local) == ["198.18.1.1", "198.18.2.1", "198.18.3.1"], "\(view)")
                #expect(view.first?.map(\.isBackup) == [false, false, true], "the kernel flags C backup: \(view)")

                try await topology.setLink(topology.gw, "upb0", up: false)
                let withoutB = try await Self.waitForEndpoints(topology) {
                    !$0.contains { $0.hasPrefix("198.18.2.1 ") }
                }
                #expect(!withoutB.contains { $0.hasPrefix("198.18.2.1 ") }, "B's endpoint goes with B: \(withoutB)")
                try await topology.setLink(topology.gw, "upb0", up: true)
                let withB = try await Self.waitForEndpoints(topology) { $0.contains { $0.hasPrefix("198.18.2.1 ") } }
                #expect(withB.contains { $0.hasPrefix("198.18.2.1 id 202") }, "B's endpoint is back: \(withB)")

                let sent = try HashPeer.report(try await client.expectSuccess(seconds: 60).stdout, from: "bulk")
                let served = try HashPeer.report(try await server.expectSuccess(seconds: 30).stdout, from: "serve")
                RelayExpectations.intact(client: sent, server: served, bytes: bytes, "kernel mode")

                await gateway.stop()
                #expect(try await Self.endpoints(topology).isEmpty, "the relay's endpoints are removed at stop")
            }
        }

        /// `ip mptcp endpoint show` in gw, one line per endpoint.
        static func endpoints(_ topology: Topology) async throws -> [String] {
            let result = try await ShellCommand.run(
                ["ip", "-n", topology.gw, "mptcp", "endpoint", "show"],
                seconds: 10
            )
            return result.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        }

        /// Polls the endpoints (at most 5 s) until `condition` holds; returns the last list.
        static func waitForEndpoints(_ topology: Topology, until condition: ([String]) -> Bool) async throws -> [String]
        {
            let deadline = Date().addingTimeInterval(5)
            var list: [String] = []
            repeat {
                list = try await endpoints(topology)
                if condition(list) { return list }
                try await Task.sleep(nanoseconds: 100_000_000)
            } while Date() < deadline
            return list
        }
    }

    /// `[runtime] announce` on the converter: ADD_ADDR of its other uplink's address.
    @Suite(
        "path manager: the converter announces addresses",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(2))
    )
    struct AnnounceNetworkTests {
        @Test("the gateway's kernel path manager opens a subflow to the announced address; withdrawn at stop")
        func announcedAddressGetsASubflow() async throws {
            try await RelayTestHarness.run(tag: "an", rate: "50mbit") { harness, topology in
                let (converter, _) = try await Self.startRelays(
                    harness,
                    topology,
                    gatewayConfig: ForwardConvertNetworkTests.forwarderConfig
                )
                let endpoints = try await ShellCommand.run(["ip", "-n", topology.srv, "mptcp", "endpoint", "show"])
                #expect(endpoints.stdout.contains("198.18.2.2 id 230 signal"), "\(endpoints.stdout)")

                let bytes = 8 * PathManagerNetworkTests.mebibyte
                let server = try await harness.serve("198.19.0.2:5201", bytes: bytes, in: topology.dst, name: "serve")
                let client = try harness.send("198.18.0.1:8000", bytes: bytes, in: topology.cli, name: "bulk")
                let view = try await topology.waitForSubflows(in: topology.gw, remotePort: 8443) { view in
                    view.first?.contains { $0.remote == "198.18.2.2" } == true
                }
                #expect(view.first?.contains { $0.remote == "198.18.2.2" } == true, "no subflow to 198.18.2.2: \(view)")
                let sent = try HashPeer.report(try await client.expectSuccess(seconds: 60).stdout, from: "bulk")
                let served = try HashPeer.report(try await server.expectSuccess(seconds: 30).stdout, from: "serve")
                RelayExpectations.intact(client: sent, server: served, bytes: bytes, "announce")

                await converter.stop()
                let after = try await ShellCommand.run(["ip", "-n", topology.srv, "mptcp", "endpoint", "show"])
                #expect(
                    !after.stdout.contains("198.18.2.2"),
                    "the signal endpoint is withdrawn at stop: \(after.stdout)"
                )
            }
        }

        /// Scale-out (docs/SCALE-OUT.md): the converter forbids joins to its initial address (the C flag of
        /// MP_CAPABLE, `allow_join_initial_addr_port = 0`) and announces another; RFC 8684 section 3.1 says
        /// that no join may then go to the initial address, so the relay's path manager sends them to the
        /// announced one.
        @Test("relay as path manager: a converter that forbids its initial address gets the joins on its announced one")
        func relayPathManagerJoinsTheAnnouncedAddress() async throws {
            try await RelayTestHarness.run(tag: "ac", rate: "50mbit", uplinkC: true) { harness, topology in
                try await ShellCommand.run(
                    [
                        "ip", "netns", "exec", topology.srv, "sysctl", "-qw",
                        "net.mptcp.allow_join_initial_addr_port=0",
                    ],
                    seconds: 10
                )
                _ = try await Self.startRelays(harness, topology, gatewayConfig: PathManagerNetworkTests.gatewayConfig)

                // Long enough (about 2 s over both uplinks) that the joins are seen while it runs.
                let bytes = 24 * PathManagerNetworkTests.mebibyte
                let server = try await harness.serve("198.19.0.2:5201", bytes: bytes, in: topology.dst, name: "serve")
                let client = try harness.send("198.18.0.1:8000", bytes: bytes, in: topology.cli, name: "bulk")
                let view = try await topology.waitForSubflows(in: topology.gw, remotePort: 8443) { view in
                    view.first?.contains { $0.local == "198.18.2.1" && $0.remote == "198.18.2.2" } == true
                }
                let subflows = view.first ?? []
                #expect(
                    subflows.contains { $0.local == "198.18.2.1" && $0.remote == "198.18.2.2" },
                    "path b joins the announced address: \(view)"
                )
                #expect(
                    subflows.filter { $0.remote == "198.18.1.2" }.map(\.local) == ["198.18.1.1"],
                    "only the initial subflow goes to the initial address: \(view)"
                )
                let sent = try HashPeer.report(try await client.expectSuccess(seconds: 60).stdout, from: "bulk")
                let served = try HashPeer.report(try await server.expectSuccess(seconds: 30).stdout, from: "serve")
                RelayExpectations.intact(client: sent, server: served, bytes: bytes, "announce, C flag")
            }
        }

        /// Issue 15: a policy's `join_announced` networks give each of its paths a subflow to every address the
        /// converter announces inside them (here 198.18.2.2, with joins to the initial address allowed); a
        /// policy without them opens none there.
        @Test("relay as path manager: join_announced opens subflows to announced addresses inside its networks only")
        func joinAnnouncedWherePolicyAllows() async throws {
            try await RelayTestHarness.run(tag: "aj", rate: "50mbit") { harness, topology in
                _ = try await Self.startRelays(harness, topology, gatewayConfig: Self.joinAnnouncedGateway)
                let bytes = 16 * PathManagerNetworkTests.mebibyte
                let announced = try await harness.serve(
                    "198.19.0.2:5201",
                    bytes: bytes,
                    in: topology.dst,
                    name: "serve-announced"
                )
                let sending = try harness.send("198.18.0.1:8000", bytes: bytes, in: topology.cli, name: "announced")
                let expected = [
                    "198.18.1.1->198.18.1.2", "198.18.1.1->198.18.2.2", "198.18.2.1->198.18.1.2",
                    "198.18.2.1->198.18.2.2",
                ]
                let pairs = { (rows: [SubflowRow]) in rows.map { "\($0.local)->\($0.remote)" }.sorted() }
                let view = try await topology.waitForSubflows(in: topology.gw, remotePort: 8443) { view in
                    view.contains { pairs($0) == expected }
                }
                #expect(view.contains { pairs($0) == expected }, "both paths to both addresses: \(view)")
                let sent = try HashPeer.report(try await sending.expectSuccess(seconds: 60).stdout, from: "announced")
                let served = try HashPeer.report(
                    try await announced.expectSuccess(seconds: 30).stdout,
                    from: "serve-announced"
                )
                RelayExpectations.intact(client: sent, server: served, bytes: bytes, "join_announced")

                // The other policy: joins to the initial address only, the announcement notwithstanding.
                let plain = try await harness.serve(
                    "198.19.0.2:5202",
                    bytes: bytes,
                    in: topology.dst,
                    name: "serve-plain"
                )
                let plainSending = try harness.send("198.18.0.1:8001", bytes: bytes, in: topology.cli, name: "plain")
                let joined = try await topology.waitForSubflows(in: topology.gw, remotePort: 8443) { view in
                    view.contains { $0.contains { $0.local == "198.18.2.1" } }
                }
                try await Task.sleep(for: .seconds(1))
                let later = try await topology.subflows(in: topology.gw, remotePort: 8443)
                #expect(joined.contains { $0.contains { $0.local == "198.18.2.1" } }, "B joined: \(joined)")
                #expect(
                    !later.contains { $0.contains { $0.remote == "198.18.2.2" } },
                    "no subflow to the announced address without join_announced: \(later)"
                )
                let plainSent = try HashPeer.report(
                    try await plainSending.expectSuccess(seconds: 60).stdout,
                    from: "plain"
                )
                let plainServed = try HashPeer.report(
                    try await plain.expectSuccess(seconds: 30).stdout,
                    from: "serve-plain"
                )
                RelayExpectations.intact(client: plainSent, server: plainServed, bytes: bytes, "no join_announced")
                let refused = try await HostilePeerNetworkTests.counter("MPTcpExtMPJoinSynRx", in: topology.srv)
                let acknowledged = try await HostilePeerNetworkTests.counter("MPTcpExtMPJoinAckRx", in: topology.srv)
                #expect(
                    refused == acknowledged,
                    "every join the converter saw was completed: \(refused) SYNs, \(acknowledged) ACKs"
                )
            }
        }

        /// The gateway as path manager over A and B: port 5201 under "announced" (`join_announced` 198.18.2.0/24),
        /// port 5202 under "plain".
        static let joinAnnouncedGateway =
            """
            [runtime]
            workers = 2
            path_manager = "relay"

            [[listener]]
            name = "announced"
            role = "forward"
            listen = "198.18.0.1:8000"
            upstream = "198.18.1.2:8443"
            destination = "198.19.0.2:5201"

            [[listener]]
            name = "plain"
            role = "forward"
            listen = "198.18.0.1:8001"
            upstream = "198.18.1.2:8443"
            destination = "198.19.0.2:5202"
            """ + GatewayTables.paths(["a", "b"])
                + """

                [[policy]]
                name = "announced"
                match = { destination_ports = [5201] }
                paths = ["a", "b"]
                join_announced = ["198.18.2.0/24"]

                [[policy]]
                name = "plain"
                match = { destination_ports = [5202] }
                paths = ["a", "b"]
                """

        /// A hostile or broken converter: it forbids its initial address and announces only loopback and
        /// multicast addresses (made by hand as `signal` endpoints). The gateway's path manager opens no join
        /// to them, logs why, and the connection carries on intact on its initial subflow.
        @Test("relay as path manager: announcements of loopback and multicast addresses get no join")
        func bogusAnnouncementsIgnored() async throws {
            try await RelayTestHarness.run(tag: "ab", rate: "50mbit", uplinkC: true) { harness, topology in
                try await ShellCommand.bash(
                    """
                    ip netns exec "$1" sysctl -qw net.mptcp.allow_join_initial_addr_port=0
                    ip -n "$1" mptcp endpoint add 127.0.0.1 signal
                    ip -n "$1" mptcp endpoint add 224.0.0.5 signal
                    """,
                    [topology.srv],
                    seconds: 10
                )
                let converter = try harness.startRelay(
                    "converter",
                    in: topology.srv,
                    config: PathManagerNetworkTests.converterConfig
                )
                let gateway = try harness.startRelay(
                    "gateway",
                    in: topology.gw,
                    config: PathManagerNetworkTests.gatewayConfig
                )
                try await converter.waitListening(on: 8443, in: topology, namespace: topology.srv)
                try await gateway.waitListening(on: 8000, in: topology, namespace: topology.gw)

                let bytes = 8 * PathManagerNetworkTests.mebibyte
                let server = try await harness.serve("198.19.0.2:5201", bytes: bytes, in: topology.dst, name: "serve")
                let client = try harness.send("198.18.0.1:8000", bytes: bytes, in: topology.cli, name: "bulk")
                let sent = try HashPeer.report(try await client.expectSuccess(seconds: 60).stdout, from: "bulk")
                let served = try HashPeer.report(try await server.expectSuccess(seconds: 30).stdout, from: "serve")
                RelayExpectations.intact(client: sent, server: served, bytes: bytes, "bogus announcements")
                let joins = try await HostilePeerNetworkTests.counter("MPTcpExtMPJoinSynTx", in: topology.gw)
                #expect(joins == 0, "joins opened: \(joins)")
                for address in ["127.0.0.1", "224.0.0.5"] {
                    #expect(
                        try await gateway.waitForLogLine(containing: ["ignoring an announced address", address]),
                        "\(gateway.log.suffix(2000))"
                    )
                }
            }
        }

        /// The converter in srv announcing 198.18.2.2, and the gateway in gw with `gatewayConfig`, both listening.
        static func startRelays(
            _ harness: RelayTestHarness,
            _ topology: Topology,
            gatewayConfig: String
        ) async throws -> (converter: RelayProcess, gateway: RelayProcess) {
            let converterConfig = PathManagerNetworkTests.converterConfig.replacingOccurrences(
                of: "workers = 2",
                with: "workers = 2\nannounce = [\"198.18.2.2\"]"
            )
            let converter = try harness.startRelay("converter", in: topology.srv, config: converterConfig)
            let gateway = try harness.startRelay("gateway", in: topology.gw, config: gatewayConfig)
            try await converter.waitListening(on: 8443, in: topology, namespace: topology.srv)
            try await gateway.waitListening(on: 8000, in: topology, namespace: topology.gw)
            return (converter, gateway)
        }
    }
}
