import Foundation
import Testing

extension NetworkTestSuites {

    /// The relay as path manager with a policy per steering mode (issue 15), on the reference topology:
    /// `active-standby` over A then B, and `weighted` 3:1 over A and B.
    @Suite(
        "path manager: steering modes active-standby and weighted",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(3))
    )
    struct SteeringNetworkTests {
        static let mebibyte = 1024 * 1024

        @Test("active-standby: only A carries data, B waits flagged backup; A down, B takes over, nothing lost")
        func activeStandby() async throws {
            try await RelayTestHarness.run(tag: "sa", rate: "50mbit") { harness, topology in
                let gateway = try await Self.startRelays(harness, topology)
                // Both ways at once, long enough for the second subflow and the failover.
                let bytes = 48 * Self.mebibyte
                let server = try await harness.serve("198.19.0.2:5201", bytes: bytes, in: topology.dst, name: "serve")
                let client = try harness.send(
                    "198.18.0.1:8000",
                    bytes: bytes,
                    in: topology.cli,
                    name: "calls",
                    timeout: 60
                )
                let standby = try await topology.waitForSubflows(in: topology.gw, remotePort: 8443) { view in
                    view.first?.map(\.local) == ["198.18.1.1", "198.18.2.1"]
                        && view.first?.map(\.isBackup) == [false, true]
                }
                #expect(standby.first?.map(\.local) == ["198.18.1.1", "198.18.2.1"], "A and B: \(standby)")
                #expect(standby.first?.map(\.isBackup) == [false, true], "B on standby: \(standby)")

                // A second of steady traffic: A carries it, B next to nothing (both directions).
                try await Task.sleep(nanoseconds: 500_000_000)
                let (aUp, bUp, aDown, bDown) = try await Self.uplinkSecond(topology)
                print("active-standby, A up: A \(aUp) up / \(aDown) down, B \(bUp) up / \(bDown) down")
                #expect(aUp > 1_000_000 && aDown > 1_000_000, "A carried \(aUp) up and \(aDown) down")
                #expect(bUp * 20 < aUp && bDown * 20 < aDown, "B carried \(bUp) up and \(bDown) down on standby")

                try await topology.setLink(topology.gw, "upa0", up: false)
                let promoted = try await topology.waitForSubflows(in: topology.gw, remotePort: 8443, seconds: 5) {
                    view in
                    view.first?.map(\.local) == ["198.18.2.1"] && view.first?.first?.isBackup == false
                }
                #expect(promoted.first?.map(\.local) == ["198.18.2.1"], "only B is left: \(promoted)")
                #expect(promoted.first?.first?.isBackup == false, "B is promoted: \(promoted)")
                let (_, bAfter, _, bAfterDown) = try await Self.uplinkSecond(topology)
                #expect(bAfter > 1_000_000 && bAfterDown > 1_000_000, "B carried \(bAfter) up, \(bAfterDown) down")

                let sent = try HashPeer.report(try await client.expectSuccess(seconds: 90).stdout, from: "calls")
                let served = try HashPeer.report(try await server.expectSuccess(seconds: 30).stdout, from: "serve")
                RelayExpectations.intact(client: sent, server: served, bytes: bytes, "across the failover")
                try await gateway.expectLogLine(
                    containing: ["policy=calls", "path=a", "result=completed"],
                    "no completed close line of the calls policy starting on A:\n\(gateway.log.suffix(2000))"
                )
            }
        }

        @Test("weighted 3:1: of 40 new connections, 30 ± 4 start on A and the rest on B; all intact")
        func weighted() async throws {
            try await RelayTestHarness.run(tag: "sw") { harness, topology in
                let gateway = try await Self.startRelays(harness, topology)
                let count = 40
                for index in 0..<count {
                    let server = try await harness.serve(
                        "198.19.0.2:5202",
                        bytes: 4096,
                        in: topology.dst,
                        name: "serve-\(index)"
                    )
                    let client = try harness.send("198.18.0.1:8001", bytes: 4096, in: topology.cli, name: "w-\(index)")
                    let sent = try HashPeer.report(try await client.expectSuccess(seconds: 30).stdout, from: "w")
                    let served = try HashPeer.report(try await server.expectSuccess(seconds: 30).stdout, from: "s")
                    RelayExpectations.intact(client: sent, server: served, bytes: 4096, "connection \(index)")
                }
                let closes = try await gateway.countLogLines(
                    containing: ["policy=spread", "result=completed"],
                    atLeast: count
                )
                #expect(closes == count, "\(closes) completed close lines of \(count)")
                let lines = gateway.log.split(separator: "\n").filter {
                    $0.contains("policy=spread") && $0.contains("result=completed")
                }
                let onA = lines.filter { $0.contains("path=a ") }.count
                let onB = lines.filter { $0.contains("path=b ") }.count
                print("weighted 3:1: \(onA) connections started on A, \(onB) on B")
                #expect(onA + onB == count, "\(onA) on A and \(onB) on B of \(count)")
                #expect((26...34).contains(onA), "\(onA) of \(count) started on A, expected 30 ± 4")
            }
        }

        static func startRelays(_ harness: RelayTestHarness, _ topology: Topology) async throws -> RelayProcess {
            let converter = try harness.startRelay(
                "converter",
                in: topology.srv,
                config: PathManagerNetworkTests.converterConfig
            )
            let gateway = try harness.startRelay("gateway", in: topology.gw, config: Self.gatewayConfig)
            try await converter.waitListening(on: 8443, in: topology, namespace: topology.srv)
            try await gateway.waitListening(on: 8000, in: topology, namespace: topology.gw)
            try await gateway.waitListening(on: 8001, in: topology, namespace: topology.gw)
            return gateway
        }

        /// Bytes over one second: sent by gw on A and B (upload), and sent by srv on A and B (download).
        static func uplinkSecond(_ topology: Topology) async throws -> (UInt64, UInt64, UInt64, UInt64) {
            let devices = [
                (topology.gw, "upa0"), (topology.gw, "upb0"), (topology.srv, "upa0"), (topology.srv, "upb0"),
            ]
            var before: [UInt64] = []
            for (namespace, device) in devices { before.append(try await topology.txBytes(namespace, device)) }
            try await Task.sleep(nanoseconds: 1_000_000_000)
            var delta: [UInt64] = []
            for (offset, (namespace, device)) in devices.enumerated() {
                delta.append(try await topology.txBytes(namespace, device) - before[offset])
            }
            return (delta[0], delta[1], delta[2], delta[3])
        }

        static let gatewayConfig = """
            [runtime]
            workers = 2
            path_manager = "relay"

            [[listener]]
            name = "calls"
            role = "forward"
            listen = "198.18.0.1:8000"
            upstream = "198.18.1.2:8443"
            destination = "198.19.0.2:5201"

            [[listener]]
            name = "spread"
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
            name = "calls"
            match = { destination_ports = [5201] }
            paths = ["a", "b"]
            mode = "active-standby"

            [[policy]]
            name = "spread"
            match = { destination_ports = [5202] }
            paths = ["a", "b"]
            mode = "weighted"
            weights = { a = 3, b = 1 }

            """
    }
}
