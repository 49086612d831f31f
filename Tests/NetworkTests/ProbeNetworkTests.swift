import Foundation
import Testing

extension NetworkTestSuites {

    /// Active probes (issue 15, `[[path]] probe`): a path whose link stays up but whose far side stops
    /// answering is taken down by its probes, its subflows move to the other path with nothing lost, and it
    /// comes back once the probes are answered again.
    @Suite(
        "path manager: a path whose probes go unanswered counts as down, and up again once they are answered",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(3))
    )
    struct ProbeNetworkTests {
        static let upA = "mptcp_relay_path_up{path=\"a\",class=\"primary\"}"

        @Test("A's probes dropped at the far end: A down within seconds, the transfer intact over B, A back after")
        func unansweredProbesTakeThePathDown() async throws {
            try await RelayTestHarness.run(tag: "pr", rate: "50mbit") { harness, topology in
                _ = try harness.startRelay("converter", in: topology.srv, config: FaultNetworkTests.converterConfig)
                let gateway = try harness.startRelay("gateway", in: topology.gw, config: Self.gatewayConfig)
                try await topology.waitListening(topology.srv, port: 8443, seconds: 10)
                try await gateway.waitListening(on: 8000, in: topology, namespace: topology.gw)
                // Port 9 has no listener on srv: each probe is answered with a reset, which counts.
                let up = try await OpenRelayNetworkTests.metrics(in: topology.gw) {
                    OpenRelayNetworkTests.sample($0, Self.upA) == 1
                }
                #expect(OpenRelayNetworkTests.sample(up, Self.upA) == 1, "A up while its probes are answered")

                let bytes = 128 * 1024 * 1024
                let server = try await harness.serve("198.19.0.2:5201", bytes: bytes, in: topology.dst, name: "serve")
                let client = try harness.send("198.18.0.1:8000", bytes: bytes, in: topology.cli, name: "bulk")
                try await Task.sleep(for: .seconds(1))
                // Only the probes are dropped: A's link, address and subflows are untouched.
                try await ShellCommand.bash(
                    """
                    ip netns exec "$1" nft add table inet probes
                    ip netns exec "$1" nft add chain inet probes in '{ type filter hook input priority 0; }'
                    ip netns exec "$1" nft add rule inet probes in iifname upa0 tcp dport 9 drop
                    """,
                    [topology.srv],
                    seconds: 10
                )
                let dropped = Date()
                let down = try await OpenRelayNetworkTests.metrics(in: topology.gw) {
                    OpenRelayNetworkTests.sample($0, Self.upA) == 0
                }
                #expect(
                    OpenRelayNetworkTests.sample(down, Self.upA) == 0,
                    "A still up 10 s after its probes went unanswered:\n\(gateway.log.suffix(2000))"
                )
                print("probe: A down \(String(format: "%.1f", Date().timeIntervalSince(dropped))) s after the drop")
                let moved = try await topology.waitForSubflows(in: topology.gw, remotePort: 8443) { view in
                    !view.isEmpty && !view.contains { $0.contains { $0.local == "198.18.1.1" } }
                }
                #expect(
                    !moved.isEmpty && !moved.contains { $0.contains { $0.local == "198.18.1.1" } },
                    "A's subflows closed, B carries: \(moved)"
                )
                try await gateway.expectLogLine(containing: ["path unreachable", "path=a"], "no unreachable line")

                try await ShellCommand.bash(
                    "ip netns exec \"$1\" nft delete table inet probes",
                    [topology.srv],
                    seconds: 10
                )
                let back = try await OpenRelayNetworkTests.metrics(in: topology.gw) {
                    OpenRelayNetworkTests.sample($0, Self.upA) == 1
                }
                #expect(OpenRelayNetworkTests.sample(back, Self.upA) == 1, "A back once its probes are answered")
                let sent = try HashPeer.report(try await client.expectSuccess(seconds: 90).stdout, from: "bulk")
                let served = try HashPeer.report(try await server.expectSuccess(seconds: 30).stdout, from: "serve")
                RelayExpectations.intact(client: sent, server: served, bytes: bytes, "probed path")
            }
        }

        /// The fault suite's forwarder as path manager over A (probed every second at the converter's
        /// address, port 9) and B, with metrics and the default health checks.
        static let gatewayConfig =
            FaultNetworkTests.forwarderConfig + GatewayTables.metrics + "\n[health]\n"
            + GatewayTables.paths(["a", "b"], extra: ["a": "probe = { target = \"198.18.1.2:9\", interval = \"1s\" }"])
    }
}
