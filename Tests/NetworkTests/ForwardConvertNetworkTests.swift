import Foundation
import Testing

extension NetworkTestSuites {

    /// forward (gw) → MPTCP over two uplinks → convert (srv) → TCP to dst, on the reference topology.
    @Suite(
        "forward and convert across two uplinks",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(3))
    )
    struct ForwardConvertNetworkTests {
        static let payloadBytes = 32 * 1024 * 1024

        @Test("32 MiB each way arrive intact, over MPTCP, on both uplinks")
        func bothWaysIntactOverBothUplinks() async throws {
            try await RelayTestHarness.run(tag: "fc") { harness, topology in
                try await runTransfer(in: topology, harness: harness)
            }
        }

        private func runTransfer(in topology: Topology, harness: RelayTestHarness) async throws {
            let bytes = Self.payloadBytes
            let converter = try harness.startRelay("converter", in: topology.srv, config: Self.converterConfig)
            let forwarder = try harness.startRelay("forwarder", in: topology.gw, config: Self.forwarderConfig)
            try await converter.waitListening(on: 8443, in: topology, namespace: topology.srv)
            try await forwarder.waitListening(on: 8000, in: topology, namespace: topology.gw)

            let server = try await harness.serve(
                "198.19.0.2:5201",
                bytes: bytes,
                in: topology.dst,
                name: "hashpeer-serve"
            )

            let upA = try await topology.txBytes(topology.gw, "upa0")
            let upB = try await topology.txBytes(topology.gw, "upb0")

            let client = try harness.send("198.18.0.1:8000", bytes: bytes, in: topology.cli, name: "hashpeer-send")
            let sent = try await client.expectSuccess(seconds: 120)
            let served = try await server.expectSuccess(seconds: 30)

            let upADelta = try await topology.txBytes(topology.gw, "upa0") - upA
            let upBDelta = try await topology.txBytes(topology.gw, "upb0") - upB

            let clientReport = try HashPeer.report(sent.stdout, from: "hashpeer send")
            let serverReport = try HashPeer.report(served.stdout, from: "hashpeer serve")

            // Integrity: exact byte counts and matching SHA-256 in both directions.
            RelayExpectations.intact(client: clientReport, server: serverReport, bytes: bytes, "198.19.0.2:5201")

            // Multipath: each uplink carried a real share of the upstream bytes.
            RelayExpectations.bothUplinks(upA: upADelta, upB: upBDelta, share: UInt64(bytes / 10))

            // The converter saw MPTCP, never the plain TCP fallback.
            try await converter.expectLogLine(
                containing: ["listener=converter", "transport=mptcp"],
                "converter log has no close line with transport=mptcp:\n\(converter.log)"
            )
            #expect(!converter.log.contains("transport=tcp"), "converter fell back to TCP:\n\(converter.log)")
        }

        static let forwarderConfig = """
            [runtime]
            workers = 2

            [[listener]]
            name = "lan"
            role = "forward"
            listen = "198.18.0.1:8000"
            upstream = "198.18.1.2:8443"
            destination = "198.19.0.2:5201"

            """

        static let converterConfig = """
            [runtime]
            workers = 2

            [[listener]]
            name = "converter"
            role = "convert"
            authentication = "none"
            listen = "0.0.0.0:8443"
            allow = ["198.19.0.0/24"]

            """
    }
}
