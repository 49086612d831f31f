import Foundation
import Testing

extension NetworkTestSuites {

    /// Path quotas (issue 15): a metered uplink C with a quota of a few MiB. Once it is used up, C carries
    /// nothing while A or B is up, carries again when both are down, and the count survives a restart.
    @Suite(
        "path manager: a path's quota, used up, makes it the last resort; the count survives a restart",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(3))
    )
    struct QuotaNetworkTests {
        static let mebibyte = 1024 * 1024
        static let quota = 4 * mebibyte
        static let used = "mptcp_relay_path_quota_used_bytes{path=\"c\"}"
        static let remaining = "mptcp_relay_path_quota_remaining_bytes{path=\"c\"}"

        @Test("C's quota of 4 MiB: used up mid-transfer, idle while A or B is up, used when both are down")
        func quotaUsedUp() async throws {
            try await RelayTestHarness.run(tag: "qt", rate: "50mbit", uplinkC: true) { harness, topology in
                let config = Self.gatewayConfig(state: harness.scratch.appendingPathComponent("state").path)
                _ = try harness.startRelay("converter", in: topology.srv, config: FaultNetworkTests.converterConfig)
                var gateway = try harness.startRelay("gateway", in: topology.gw, config: config)
                try await topology.waitListening(topology.srv, port: 8443, seconds: 10)
                try await gateway.waitListening(on: 8000, in: topology, namespace: topology.gw)

                // 1. A transfer over A, B and C: C's share passes the quota within its first seconds.
                try await Self.transfer(harness, topology, mebibytes: 48, name: "first")
                let first = try await OpenRelayNetworkTests.metrics(in: topology.gw) {
                    OpenRelayNetworkTests.sample($0, Self.remaining) == 0
                }
                let usedFirst = OpenRelayNetworkTests.sample(first, Self.used) ?? 0
                #expect(
                    OpenRelayNetworkTests.sample(first, Self.remaining) == 0 && usedFirst >= Double(Self.quota),
                    "C's quota is not used up: used \(usedFirst)\n\(gateway.log.suffix(2000))"
                )
                try await gateway.expectLogLine(containing: ["used up its quota", "path=c"], "no used-up line")

                // 2. A and B up: C carries nothing.
                var before = try await topology.txBytes(topology.gw, "upc0")
                try await Self.transfer(harness, topology, mebibytes: 8, name: "second")
                var carried = try await topology.txBytes(topology.gw, "upc0") - before
                #expect(carried < 256 * 1024, "C carried \(carried) bytes over its quota while A and B were up")

                // 3. A and B down: C is the last resort.
                try await topology.setLink(topology.gw, "upa0", up: false)
                try await topology.setLink(topology.gw, "upb0", up: false)
                try await Task.sleep(for: .milliseconds(500))
                before = try await topology.txBytes(topology.gw, "upc0")
                try await Self.transfer(harness, topology, mebibytes: 8, name: "third")
                carried = try await topology.txBytes(topology.gw, "upc0") - before
                #expect(carried >= UInt64(8 * Self.mebibyte), "with A and B down C carried only \(carried) bytes")

                // 4. A restart keeps the count: C stays idle while A and B are up.
                try await topology.setLink(topology.gw, "upa0", up: true)
                try await topology.setLink(topology.gw, "upb0", up: true)
                await gateway.stop()
                gateway = try harness.startRelay("gateway-2", in: topology.gw, config: config)
                try await gateway.waitListening(on: 8000, in: topology, namespace: topology.gw)
                let restarted = try await OpenRelayNetworkTests.metrics(in: topology.gw) {
                    OpenRelayNetworkTests.sample($0, Self.remaining) != nil
                }
                let usedRestarted = OpenRelayNetworkTests.sample(restarted, Self.used) ?? 0
                #expect(
                    OpenRelayNetworkTests.sample(restarted, Self.remaining) == 0 && usedRestarted >= usedFirst,
                    "the restarted relay forgot C's count: used \(usedRestarted), before \(usedFirst)"
                )
                before = try await topology.txBytes(topology.gw, "upc0")
                try await Self.transfer(harness, topology, mebibytes: 8, name: "fourth")
                carried = try await topology.txBytes(topology.gw, "upc0") - before
                #expect(carried < 256 * 1024, "after the restart C carried \(carried) bytes over its quota")
            }
        }

        /// Moves `mebibytes` each way through the gateway and checks both digests.
        static func transfer(
            _ harness: RelayTestHarness,
            _ topology: Topology,
            mebibytes: Int,
            name: String
        ) async throws {
            let bytes = mebibytes * mebibyte
            let server = try await harness.serve(
                "198.19.0.2:5201",
                bytes: bytes,
                in: topology.dst,
                name: "serve-\(name)"
            )
            let client = try harness.send("198.18.0.1:8000", bytes: bytes, in: topology.cli, name: name, timeout: 60)
            let sent = try HashPeer.report(try await client.expectSuccess(seconds: 90).stdout, from: name)
            let served = try HashPeer.report(try await server.expectSuccess(seconds: 30).stdout, from: "serve-\(name)")
            RelayExpectations.intact(client: sent, server: served, bytes: bytes, name)
        }

        /// The fault suite's forwarder with metrics, as path manager over A, B and C, C with a 4 MiB quota.
        static func gatewayConfig(state: String) -> String {
            FaultNetworkTests.forwarderConfig.replacingOccurrences(
                of: "workers = 1",
                with: "workers = 1\nstate_directory = \"\(state)\""
            ) + GatewayTables.metrics
                + GatewayTables.paths(
                    ["a", "b", "c"],
                    extra: ["c": "quota = { bytes = \"4MiB\", period = \"month\" }"]
                )
        }
    }
}
