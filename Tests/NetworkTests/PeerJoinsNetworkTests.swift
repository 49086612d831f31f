import Foundation
import Testing

extension NetworkTestSuites {

    /// A peer that opens joins itself, towards a relay that is the path manager (issue 11, subflow abuse;
    /// issue 12: the kernel accepts every MP_JOIN for a userspace path manager and applies no `subflows`
    /// limit, so the relay must). The converter in srv runs as path manager (it has `[[path]]` tables); the
    /// gateway in gw is a plain forwarder on the kernel path manager with three `subflow` endpoints on
    /// uplink B, so every connection it opens gets three joins from it; srv's limit is one.
    @Suite(
        "path manager: joins a peer opens beyond the subflow limit are destroyed and counted",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(2))
    )
    struct PeerJoinsNetworkTests {
        static let mebibyte = 1024 * 1024

        @Test("three joins from the gateway, limit one: one kept, two destroyed and counted, every byte intact")
        func joinsBeyondTheLimit() async throws {
            try await RelayTestHarness.run(tag: "pj", rate: "50mbit") { harness, topology in
                try await ShellCommand.bash(
                    """
                    ip -n "$1" addr add 198.18.2.11/24 dev upb0
                    ip -n "$1" addr add 198.18.2.12/24 dev upb0
                    ip -n "$1" mptcp endpoint add 198.18.2.11 dev upb0 subflow
                    ip -n "$1" mptcp endpoint add 198.18.2.12 dev upb0 subflow
                    ip -n "$2" mptcp limits set subflows 1 add_addr_accepted 8
                    """,
                    [topology.gw, topology.srv],
                    seconds: 10
                )
                let converter = try harness.startRelay("converter", in: topology.srv, config: Self.converterConfig)
                let gateway = try harness.startRelay(
                    "gateway",
                    in: topology.gw,
                    config: ForwardConvertNetworkTests.forwarderConfig
                )
                try await converter.waitListening(on: 8443, in: topology, namespace: topology.srv)
                try await gateway.waitListening(on: 8000, in: topology, namespace: topology.gw)
                #expect(
                    try await converter.waitForLogLine(containing: ["joins a peer adds", "subflows=1"]),
                    "the converter did not take srv's limit: \(converter.log.suffix(2000))"
                )

                // Both ways, long enough (about 3 s at 50 Mbit/s) for every join to arrive while it runs.
                let bytes = 16 * Self.mebibyte
                let server = try await harness.serve("198.19.0.2:5201", bytes: bytes, in: topology.dst, name: "serve")
                let client = try harness.send("198.18.0.1:8000", bytes: bytes, in: topology.cli, name: "bulk")
                let metrics = try await OpenRelayNetworkTests.metrics(in: topology.srv) {
                    (OpenRelayNetworkTests.sample($0, "mptcp_relay_subflows_refused_total") ?? 0) >= 2
                }
                let sent = try HashPeer.report(try await client.expectSuccess(seconds: 60).stdout, from: "bulk")
                let served = try HashPeer.report(try await server.expectSuccess(seconds: 30).stdout, from: "serve")
                RelayExpectations.intact(client: sent, server: served, bytes: bytes, "peer joins")

                let opened = try await HostilePeerNetworkTests.counter("MPTcpExtMPJoinSynTx", in: topology.gw)
                #expect(opened == 3, "the gateway opened \(opened) joins, not 3")
                let refused = OpenRelayNetworkTests.sample(metrics, "mptcp_relay_subflows_refused_total") ?? 0
                #expect(refused == 2, "the converter destroyed \(refused) joins, not 2:\n\(converter.log.suffix(3000))")
                #expect(
                    try await converter.waitForLogLine(containing: ["beyond the subflow limit", "limit=1"]),
                    "\(converter.log.suffix(2000))"
                )
            }
        }

        /// The converter with srv's two uplinks as paths: it becomes the namespace's path manager.
        static let converterConfig =
            ForwardConvertNetworkTests.converterConfig + GatewayTables.metrics + GatewayTables.paths(["a", "b"])
    }
}
