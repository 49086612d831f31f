import Foundation
import Testing

extension NetworkTestSuites {

    /// The short integrity pass of issue 11 (the long one is scripts/stress/integrity-loop.sh): freshly
    /// started relays, the gateway as MPTCP path manager, several concurrent pattern transfers both ways
    /// while the primaries flap. Every byte of every connection must arrive in order; hashpeer's pattern
    /// check names the damage if one does not.
    @Suite(
        "integrity: concurrent pattern transfers through fresh relays while the uplinks flap",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(3))
    )
    struct IntegrityStressNetworkTests {
        static let connections = 6
        static let bytes = 6 * 1024 * 1024

        @Test("rounds of fresh relays: every connection's bytes arrive intact across link flaps", arguments: 1...2)
        func flappingUplinks(round: Int) async throws {
            try await RelayTestHarness.run(tag: "is\(round)", rate: "50mbit", uplinkC: true) { harness, topology in
                _ = try await PathManagerNetworkTests.startRelays(harness, topology)
                let server = try await harness.serve(
                    "198.19.0.2:5201",
                    bytes: Self.bytes,
                    in: topology.dst,
                    name: "serve",
                    count: Self.connections
                )
                var clients: [ChildProcess] = []
                for index in 0..<Self.connections {
                    clients.append(
                        try harness.send(
                            "198.18.0.1:8000",
                            bytes: Self.bytes,
                            in: topology.cli,
                            name: "send-\(index)",
                            timeout: 60
                        )
                    )
                }
                // Every connection is up first (one that starts while its first path goes down is another case).
                _ = try await topology.waitForSubflows(in: topology.gw, remotePort: 8443, seconds: 15) { view in
                    view.count == Self.connections
                }
                // A and B each go down and come back once while the transfers run: subflows are destroyed,
                // re-created, and C is promoted and demoted. This left bytes in a subflow that poll never
                // reported (Linux 6.18): without the relay's stalled-read probe, connections hung.
                for device in ["upa0", "upb0"] {
                    try await Task.sleep(nanoseconds: 700_000_000)
                    try await topology.setLink(topology.gw, device, up: false)
                    try await Task.sleep(nanoseconds: 700_000_000)
                    try await topology.setLink(topology.gw, device, up: true)
                }

                var sent: [HashPeerReport] = []
                for (index, client) in clients.enumerated() {
                    let outcome = try await client.expectSuccess(seconds: 90)
                    sent.append(try HashPeer.report(outcome.stdout, from: "send-\(index)"))
                }
                let served = try HashPeer.reports(try await server.expectSuccess(seconds: 30).stdout, from: "serve")
                #expect(served.count == Self.connections, "the server reported \(served.count) connections")
                for client in sent {
                    let match = served.first { $0.pattern?.peerConnection == client.connection }
                    guard let match else {
                        Issue.record("no server report for client connection \(String(describing: client.connection))")
                        continue
                    }
                    RelayExpectations.intact(
                        client: client,
                        server: match,
                        bytes: Self.bytes,
                        "connection \(client.connection ?? -1), round \(round)"
                    )
                    #expect(client.pattern?.ok == true, "downstream pattern: \(client.patternSummary)")
                    #expect(match.pattern?.ok == true, "upstream pattern: \(match.patternSummary)")
                }
            }
        }
    }
}
