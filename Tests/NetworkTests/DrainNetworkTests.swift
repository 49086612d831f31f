import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension NetworkTestSuites {

    /// Stop without losing a connection: on SIGTERM the gateway closes its listeners, lets live transfers
    /// finish within `drain_timeout` and exits 0; what is still running at the deadline is reset, never
    /// cut short with a clean EOF.
    @Suite(
        "stop: SIGTERM drains live connections",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(3))
    )
    struct DrainNetworkTests {
        @Test("live transfers complete after SIGTERM, new connections are refused, the relay exits 0")
        func drainCompletes() async throws {
            try await RelayTestHarness.run(tag: "dr", rate: "50mbit") { harness, topology in
                let bytes = 24 * 1024 * 1024
                let (forwarder, server, client) = try await Self.relayedTransfer(
                    harness,
                    topology,
                    drainTimeout: 60,
                    bytes: bytes
                )
                try await Task.sleep(nanoseconds: 300_000_000)
                kill(forwarder.child.processIdentifier, SIGTERM)
                #expect(
                    try await forwarder.waitForLogLine(containing: ["draining", "connections=1"]),
                    "no drain line:\n\(forwarder.log.suffix(1500))"
                )
                let late = try? await ShellCommand.run(
                    [
                        "ip", "netns", "exec", topology.cli, "python3", "-c",
                        "import socket; socket.create_connection(('198.18.0.1', 8000), timeout=3)",
                    ],
                    seconds: 10
                )
                #expect(late == nil, "a new connection was accepted while draining")
                let sent = try HashPeer.report(try await client.expectSuccess(seconds: 60).stdout, from: "transfer")
                let served = try HashPeer.report(try await server.expectSuccess(seconds: 30).stdout, from: "serve")
                RelayExpectations.intact(client: sent, server: served, bytes: bytes, "drained after SIGTERM")
                let status = try await forwarder.child.wait(seconds: 20)
                #expect(status == 0, "the relay's exit status after the drain: \(String(describing: status))")
                #expect(forwarder.log.contains("result=completed"), "the drained connection completed")
            }
        }

        @Test("what still runs at the drain deadline is reset, not cut with a clean EOF")
        func drainDeadlineResets() async throws {
            try await RelayTestHarness.run(tag: "dd", rate: "20mbit") { harness, topology in
                let (forwarder, _, client) = try await Self.relayedTransfer(
                    harness,
                    topology,
                    drainTimeout: 1,
                    bytes: 64 * 1024 * 1024
                )
                try await Task.sleep(nanoseconds: 300_000_000)
                kill(forwarder.child.processIdentifier, SIGTERM)
                let status = try await client.wait(seconds: 20)
                #expect(status != nil && status != 0, "the long transfer did not end in an error")
                #expect(
                    client.stderr.contains("ConnectionResetError") || client.stderr.contains("reset"),
                    "the client did not see a reset:\n\(client.stderr)"
                )
                #expect(try await forwarder.child.wait(seconds: 20) == 0, "the relay exits 0 after the drain")
                #expect(forwarder.log.contains("drain over"), "\(forwarder.log.suffix(1500))")
                #expect(forwarder.log.contains("result=shutdown"), "\(forwarder.log.suffix(1500))")
            }
        }

        @Test("a second SIGTERM ends the drain at once: resets, exit 0")
        func secondSignalResets() async throws {
            try await RelayTestHarness.run(tag: "ds", rate: "20mbit") { harness, topology in
                let (forwarder, _, client) = try await Self.relayedTransfer(
                    harness,
                    topology,
                    drainTimeout: 120,
                    bytes: 64 * 1024 * 1024
                )
                kill(forwarder.child.processIdentifier, SIGTERM)
                #expect(try await forwarder.waitForLogLine(containing: ["draining"]), "\(forwarder.log.suffix(1500))")
                kill(forwarder.child.processIdentifier, SIGTERM)
                let status = try await client.wait(seconds: 15)
                #expect(status != nil && status != 0, "the transfer did not end in an error at the second signal")
                #expect(try await forwarder.child.wait(seconds: 15) == 0, "the relay exits 0")
                #expect(forwarder.log.contains("second stop signal"), "\(forwarder.log.suffix(1500))")
            }
        }

        /// Relays with `drain_timeout` on the forwarder, and a transfer of `bytes` each way through them
        /// that is relayed (its MPTCP connection up) when this returns.
        static func relayedTransfer(
            _ harness: RelayTestHarness,
            _ topology: Topology,
            drainTimeout: Int,
            bytes: Int
        ) async throws -> (forwarder: RelayProcess, server: ChildProcess, client: ChildProcess) {
            let (_, forwarder) = try await FaultNetworkTests.startRelays(
                harness,
                topology,
                forwarderConfig: FaultNetworkTests.forwarderConfig.replacingOccurrences(
                    of: "[runtime]\n",
                    with: "[runtime]\ndrain_timeout = \(drainTimeout)\n"
                )
            )
            let server = try await harness.serve("198.19.0.2:5201", bytes: bytes, in: topology.dst, name: "serve")
            let client = try harness.send("198.18.0.1:8000", bytes: bytes, in: topology.cli, name: "transfer")
            _ = try await topology.waitForSubflows(in: topology.gw, remotePort: 8443) { !($0.first ?? []).isEmpty }
            return (forwarder, server, client)
        }
    }
}
