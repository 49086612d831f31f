import Foundation
import Testing

extension NetworkTestSuites {

    /// Passive health checks (issue 15, `[health]`): a link that turns lossy mid-transfer is found degraded
    /// from the relay's own subflows, traffic moves to the healthy path, nothing is lost, and the path comes
    /// back once it is clean again.
    @Suite(
        "path manager: a lossy path is degraded from its own traffic, and healthy again once clean",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(3))
    )
    struct HealthNetworkTests {
        static let mebibyte = 1024 * 1024
        static let degraded = "mptcp_relay_path_degraded{path=\"a\"}"

        @Test("15 % loss on A: degraded, A's share of what is delivered under 10 %, intact transfer, healthy again")
        func lossyPathIsDegraded() async throws {
            try await RelayTestHarness.run(tag: "hl", rate: "50mbit") { harness, topology in
                _ = try harness.startRelay("converter", in: topology.srv, config: FaultNetworkTests.converterConfig)
                let gateway = try harness.startRelay("gateway", in: topology.gw, config: Self.gatewayConfig)
                try await topology.waitListening(topology.srv, port: 8443, seconds: 10)
                try await gateway.waitListening(on: 8000, in: topology, namespace: topology.gw)

                let bytes = 128 * Self.mebibyte
                let server = try await harness.serve("198.19.0.2:5201", bytes: bytes, in: topology.dst, name: "serve")
                let client = try harness.send(
                    "198.18.0.1:8000",
                    bytes: bytes,
                    in: topology.cli,
                    name: "bulk",
                    timeout: 90
                )
                try await Task.sleep(for: .milliseconds(1500))
                try await ShellCommand.bash(
                    """
                    ip netns exec "$1" nft add table inet lossy
                    ip netns exec "$1" nft add chain inet lossy in '{ type filter hook input priority 0; }'
                    ip netns exec "$1" nft add rule inet lossy in iifname upa0 numgen random mod 100 '<' 15 drop
                    """,
                    // On the far end: a packet dropped on its way out of the gateway is no loss to its TCP
                    // (the output hook refuses it, TCP sends it again as new), one lost in transit is.
                    [topology.srv],
                    seconds: 10
                )
                let lossy = Date()
                let found = try await OpenRelayNetworkTests.metrics(in: topology.gw) {
                    OpenRelayNetworkTests.sample($0, Self.degraded) == 1
                }
                let delay = Date().timeIntervalSince(lossy)
                #expect(
                    OpenRelayNetworkTests.sample(found, Self.degraded) == 1,
                    "A was not found degraded within 10 s:\n\(found)\n\(gateway.log.suffix(2000))"
                )
                print("health: A degraded \(String(format: "%.1f", delay)) s after the loss began")

                // While degraded: A's subflows are closed and B carries the transfer. Counted in bytes the
                // far end acknowledged on each path (the relay's path counters), so that A's retransmissions of
                // what it already held, at 15 % loss, do not count as traffic sent its way. The window ends
                // before A's first trial (recover_after, 6 s after its last bad sample), and the test checks
                // that A stayed degraded throughout: one degraded line in the log, the gauge still 1.
                try await Task.sleep(for: .milliseconds(1500))
                let before = try await Self.acknowledged(topology)
                try await Task.sleep(for: .seconds(4))
                let after = try await Self.acknowledged(topology)
                let a = after.a - before.a
                let b = after.b - before.b
                print("health: while degraded A delivered \(Int(a)) bytes, B \(Int(b))")
                #expect(after.degraded == 1, "A was not degraded throughout the window")
                #expect(
                    gateway.log.components(separatedBy: "path degraded").count == 2,
                    "A degraded more than once before the window ended:\n\(gateway.log.suffix(3000))"
                )
                #expect(a * 10 < a + b, "while degraded A still delivered \(a) bytes against \(b) on B")

                try await ShellCommand.bash(
                    "ip netns exec \"$1\" nft delete table inet lossy",
                    [topology.srv],
                    seconds: 10
                )
                let sent = try HashPeer.report(try await client.expectSuccess(seconds: 90).stdout, from: "bulk")
                let served = try HashPeer.report(try await server.expectSuccess(seconds: 30).stdout, from: "serve")
                RelayExpectations.intact(client: sent, server: served, bytes: bytes, "lossy path")

                // A's trial (6 s after its last bad sample) comes after the loss stopped: healthy again.
                let recovered = try await OpenRelayNetworkTests.metrics(in: topology.gw) {
                    OpenRelayNetworkTests.sample($0, Self.degraded) == 0
                }
                #expect(
                    OpenRelayNetworkTests.sample(recovered, Self.degraded) == 0,
                    "A did not come back after the loss stopped"
                )
                try await gateway.expectLogLine(containing: ["path degraded", "path=a"], "no degraded line")
            }
        }

        /// Bytes the converter acknowledged on A and on B so far (`mptcp_relay_path_bytes_sent_total`), and
        /// A's degraded gauge.
        static func acknowledged(_ topology: Topology) async throws -> (a: Double, b: Double, degraded: Double?) {
            let text = try await ObservabilityNetworkTests.get("/metrics", in: topology.gw).body
            let a = OpenRelayNetworkTests.sample(text, "mptcp_relay_path_bytes_sent_total{path=\"a\"}") ?? 0
            let b = OpenRelayNetworkTests.sample(text, "mptcp_relay_path_bytes_sent_total{path=\"b\"}") ?? 0
            return (a, b, OpenRelayNetworkTests.sample(text, Self.degraded))
        }

        /// The fault suite's forwarder with metrics, as path manager over A and B, with health checks.
        static let gatewayConfig =
            FaultNetworkTests.forwarderConfig + GatewayTables.metrics
            + "\n[health]\ndegraded_loss = 0.08\nrecover_after = \"6s\"\n" + GatewayTables.paths(["a", "b"])
    }
}
