import Foundation
import Testing

extension NetworkTestSuites {
    /// The relay as path manager on IPv6 uplinks: sources from the interfaces' IPv6 addresses.
    @Suite(
        "path manager: IPv6",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(2))
    )
    struct PathManagerIPv6NetworkTests {
        @Test("an IPv6 MPTCP connection gets its subflows from the paths' IPv6 sources, and arrives intact")
        func ipv6Subflows() async throws {
            try await RelayTestHarness.run(tag: "p6", rate: "50mbit") { harness, topology in
                try await topology.addIPv6()
                let converter = try harness.startRelay(
                    "converter",
                    in: topology.srv,
                    config: Self.converterConfig
                )
                let gateway = try harness.startRelay("gateway", in: topology.gw, config: Self.gatewayConfig)
                try await converter.waitListening(on: 8443, in: topology, namespace: topology.srv)
                try await gateway.waitListening(on: 8000, in: topology, namespace: topology.gw)

                let bytes = 24 * 1024 * 1024
                let server = try await harness.serve(
                    "[2001:db8:19::2]:5201",
                    bytes: bytes,
                    in: topology.dst,
                    name: "serve"
                )
                let client = try harness.send("198.18.0.1:8000", bytes: bytes, in: topology.cli, name: "bulk")
                let view = try await topology.waitForSubflows(in: topology.gw, remotePort: 8443) { view in
                    view.first?.count == 2
                }
                #expect(
                    view.first?.map(\.local) == ["2001:db8:18:1::1", "2001:db8:18:2::1"],
                    "subflows from A's and B's IPv6 addresses: \(view)"
                )
                let sent = try HashPeer.report(try await client.expectSuccess(seconds: 60).stdout, from: "bulk")
                let served = try HashPeer.report(try await server.expectSuccess(seconds: 30).stdout, from: "serve")
                RelayExpectations.intact(client: sent, server: served, bytes: bytes, "IPv6 uplinks")
                try await gateway.expectLogLine(
                    containing: ["policy=bulk", "result=completed"],
                    "no completed close line:\n\(gateway.log)"
                )
            }
        }

        static let gatewayConfig = """
            [runtime]
            workers = 2

            [[listener]]
            name = "lan"
            role = "forward"
            listen = "198.18.0.1:8000"
            upstream = "[2001:db8:18:1::2]:8443"
            destination = "[2001:db8:19::2]:5201"

            [[path]]
            name = "a"
            interface = "upa0"
            [[path]]
            name = "b"
            interface = "upb0"

            [[policy]]
            name = "bulk"
            paths = ["a", "b"]

            """

        static let converterConfig = """
            [runtime]
            workers = 2

            [[listener]]
            name = "converter"
            role = "convert"
            authentication = "none"
            listen = "[::]:8443"
            allow = ["2001:db8:19::/64"]

            """
    }
}
