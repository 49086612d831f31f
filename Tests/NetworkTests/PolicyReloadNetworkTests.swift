import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension NetworkTestSuites {

    /// SIGHUP with changed `[[policy]]` tables on the relay as path manager (issue 13): new connections
    /// follow the reloaded policy, a connection running through the reload keeps the one it started with,
    /// and nothing is lost.
    @Suite(
        "reload: a changed policy applies to new connections, live ones keep theirs",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(3))
    )
    struct PolicyReloadNetworkTests {
        static let mebibyte = 1024 * 1024

        @Test("bulk moves from A to B and back: new connections start where the file says; the live one stays on A")
        func policyChangeUnderLoad() async throws {
            try await RelayTestHarness.run(tag: "pr", rate: "50mbit") { harness, topology in
                let converter = try harness.startRelay(
                    "converter",
                    in: topology.srv,
                    config: PathManagerNetworkTests.converterConfig
                )
                let gateway = try harness.startRelay("gateway", in: topology.gw, config: Self.gateway(bulkPath: "a"))
                try await converter.waitListening(on: 8443, in: topology, namespace: topology.srv)
                try await gateway.waitListening(on: 8000, in: topology, namespace: topology.gw)

                // A long transfer under bulk = [a], both ways, running through both reloads.
                let bytes = 40 * Self.mebibyte
                let server = try await harness.serve("198.19.0.2:5201", bytes: bytes, in: topology.dst, name: "serve")
                let client = try harness.send("198.18.0.1:8000", bytes: bytes, in: topology.cli, name: "live")
                _ = try await topology.waitForSubflows(in: topology.gw, remotePort: 8443) { $0.count == 1 }

                // bulk = [b]: a new connection starts on B.
                try await Self.reload(gateway, to: Self.gateway(bulkPath: "b"), round: 1)
                try await Self.shortTransfer(harness, topology, name: "after-b")
                try await gateway.expectLogLine(
                    containing: ["listener=lan-short", "path=b ", "policy=bulk", "result=completed"],
                    "the connection after the reload did not start on B:\n\(gateway.log.suffix(3000))"
                )
                // The live connection kept bulk = [a]: one subflow, on A, and no join to B.
                let live = try await topology.subflows(in: topology.gw, remotePort: 8443)
                #expect(live.count == 1 && live.first?.map(\.local) == ["198.18.1.1"], "live connection: \(live)")

                // Back to bulk = [a]: the policy of before, under its old index again.
                try await Self.reload(gateway, to: Self.gateway(bulkPath: "a"), round: 2)
                try await Self.shortTransfer(harness, topology, name: "after-a")
                let onA = try await gateway.countLogLines(
                    containing: ["listener=lan-short", "path=a ", "policy=bulk", "result=completed"],
                    atLeast: 1
                )
                #expect(onA == 1, "the connection after the second reload did not start on A:\n\(gateway.log)")

                let sent = try HashPeer.report(try await client.expectSuccess(seconds: 90).stdout, from: "live")
                let served = try HashPeer.report(try await server.expectSuccess(seconds: 30).stdout, from: "serve")
                RelayExpectations.intact(client: sent, server: served, bytes: bytes, "through two policy reloads")
                let lines = gateway.log.split(separator: "\n").filter {
                    $0.contains("connection closed") && $0.contains("destination=198.19.0.2:5201")
                }
                #expect(lines.count == 1 && lines[0].contains("path=a "), "the live connection: \(lines)")
                #expect(!gateway.log.contains("take effect only at the next restart"), "\(gateway.log.suffix(2000))")
            }
        }

        /// Writes `text` as the gateway's file, sends SIGHUP, and waits for the `round`th policy reload line.
        static func reload(_ gateway: RelayProcess, to text: String, round: Int) async throws {
            try text.write(to: gateway.configURL, atomically: true, encoding: .utf8)
            kill(gateway.child.processIdentifier, SIGHUP)
            let reloads = try await gateway.countLogLines(
                containing: ["new connections follow the changed policies"],
                atLeast: round,
                seconds: 15
            )
            #expect(reloads >= round, "no policy reload logged in round \(round):\n\(gateway.log.suffix(3000))")
        }

        /// One 1 MiB transfer each way to dst's port 5202, checked.
        static func shortTransfer(_ harness: RelayTestHarness, _ topology: Topology, name: String) async throws {
            let bytes = Self.mebibyte
            let server = try await harness.serve("198.19.0.2:5202", bytes: bytes, in: topology.dst, name: "s-\(name)")
            let client = try harness.send("198.18.0.1:8001", bytes: bytes, in: topology.cli, name: name)
            let sent = try HashPeer.report(try await client.expectSuccess(seconds: 30).stdout, from: name)
            let served = try HashPeer.report(try await server.expectSuccess(seconds: 30).stdout, from: name)
            RelayExpectations.intact(client: sent, server: served, bytes: bytes, name)
        }

        /// Two forward listeners (the live transfer's and the short ones'), paths A and B, and one policy,
        /// bulk, on `bulkPath` alone.
        static func gateway(bulkPath: String) -> String {
            """
            [runtime]
            workers = 2
            path_manager = "relay"

            [[listener]]
            name = "lan"
            role = "forward"
            listen = "198.18.0.1:8000"
            upstream = "198.18.1.2:8443"
            destination = "198.19.0.2:5201"

            [[listener]]
            name = "lan-short"
            role = "forward"
            listen = "198.18.0.1:8001"
            upstream = "198.18.1.2:8443"
            destination = "198.19.0.2:5202"

            [[path]]
            name = "a"
            interface = "upa0"
            [[path]]
            name = "b"
            interface = "upb0"

            [[policy]]
            name = "bulk"
            paths = ["\(bulkPath)"]

            """
        }
    }
}
