import Foundation
import Testing

extension NetworkTestSuites {

    /// Where io_uring is refused (here by a seccomp filter on io_uring_setup, as container runtimes and
    /// hardened services set; `kernel.io_uring_disabled = 2` refuses it the same way), both relays fall
    /// back to epoll, say so once, and relay as before.
    @Suite(
        "io_uring unavailable: the relays run on epoll",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(3))
    )
    struct EventBackendNetworkTests {
        static let bytes = 16 * 1024 * 1024

        @Test("a transfer over both uplinks arrives intact; one warning each; the gauge says epoll")
        func seccompRefusesIOUring() async throws {
            try await RelayTestHarness.run(tag: "io", rate: "50mbit") { harness, topology in
                // Without the override of a whole-suite epoll pass: here `auto` must find io_uring refused.
                let deny = [
                    "env", "-u", "MPTCP_RELAY_IO_BACKEND", "python3",
                    NetworkTestEnvironment.packageRoot.appendingPathComponent("scripts/lib/deny-io-uring.py").path,
                ]
                let converter = try harness.startRelay(
                    "converter",
                    in: topology.srv,
                    config: Self.converterConfig,
                    wrapper: deny
                )
                let gateway = try harness.startRelay(
                    "gateway",
                    in: topology.gw,
                    config: Self.gatewayConfig,
                    wrapper: deny
                )
                try await converter.waitListening(on: 8443, in: topology, namespace: topology.srv)
                try await gateway.waitListening(on: 8000, in: topology, namespace: topology.gw)
                for relay in [converter, gateway] {
                    try await relay.expectLogLine(
                        containing: ["io_uring is unavailable: event loops run on epoll", "io_uring_queue_init"],
                        "\(relay.name): no fallback line:\n\(relay.log)"
                    )
                }

                let server = try await harness.serve(
                    "198.19.0.2:5201",
                    bytes: Self.bytes,
                    in: topology.dst,
                    name: "serve"
                )
                let upA = try await topology.txBytes(topology.gw, "upa0")
                let upB = try await topology.txBytes(topology.gw, "upb0")
                let client = try harness.send("198.18.0.1:8000", bytes: Self.bytes, in: topology.cli, name: "send")
                let sent = try HashPeer.report(try await client.expectSuccess(seconds: 90).stdout, from: "send")
                let served = try HashPeer.report(try await server.expectSuccess(seconds: 30).stdout, from: "serve")
                RelayExpectations.intact(client: sent, server: served, bytes: Self.bytes, "on epoll")
                RelayExpectations.bothUplinks(
                    upA: try await topology.txBytes(topology.gw, "upa0") - upA,
                    upB: try await topology.txBytes(topology.gw, "upb0") - upB,
                    share: UInt64(Self.bytes / 10)
                )

                let metrics = try await ShellCommand.run(
                    ["ip", "netns", "exec", topology.gw, "curl", "-sf", "http://127.0.0.1:9090/metrics"],
                    seconds: 10
                )
                #expect(metrics.stdout.contains("\nmptcp_relay_io_uring_fallback 1"), "\(metrics.stdout.prefix(2000))")
                for relay in [converter, gateway] {
                    let warnings = relay.log.components(separatedBy: "io_uring is unavailable").count - 1
                    #expect(warnings == 1, "\(relay.name): \(warnings) fallback lines:\n\(relay.log)")
                }
            }
        }

        static let gatewayConfig = """
            [runtime]
            workers = 2
            path_manager = "relay"

            [metrics]
            listen = "127.0.0.1:9090"

            [[listener]]
            name = "lan"
            role = "forward"
            listen = "198.18.0.1:8000"
            upstream = "198.18.1.2:8443"
            destination = "198.19.0.2:5201"

            [[path]]
            name = "a"
            interface = "upa0"
            [[path]]
            name = "b"
            interface = "upb0"

            [[policy]]
            name = "bulk"
            match = { destinations = ["0.0.0.0/0"] }
            paths = ["a", "b"]

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
