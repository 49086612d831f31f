import Foundation
import Testing

extension NetworkTestSuites {

    /// The relay as MPTCP path manager on the reference topology with three uplinks: A and B primary, C backup.
    @Suite(
        "path manager: subflow policies, aggregation, failover",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(3))
    )
    struct PathManagerNetworkTests {
        static let mebibyte = 1024 * 1024

        @Test("each policy gets its paths: interactive only A, bulk A and B with C on standby; setting restored")
        func policiesHonoured() async throws {
            try await RelayTestHarness.run(tag: "pp", rate: "50mbit", uplinkC: true) { harness, topology in
                #expect(try await topology.pathManagerSetting(topology.gw) == "kernel")
                let gateway = try await Self.startRelays(harness, topology)
                #expect(try await topology.pathManagerSetting(topology.gw) == "userspace")

                // Both ways at once and for a few seconds: the kernel opens no subflow on a connection whose
                // peer already sent its DATA_FIN.
                let bulkBytes = 32 * Self.mebibyte
                let sshBytes = 16 * Self.mebibyte
                let bulkServer = try await harness.serve(
                    "198.19.0.2:5201",
                    bytes: bulkBytes,
                    in: topology.dst,
                    name: "serve-bulk"
                )
                let sshServer = try await harness.serve(
                    "198.19.0.2:22",
                    bytes: sshBytes,
                    in: topology.dst,
                    name: "serve-ssh"
                )
                let bulk = try harness.send("198.18.0.1:8000", bytes: bulkBytes, in: topology.cli, name: "bulk")
                let ssh = try harness.send("198.18.0.1:8022", bytes: sshBytes, in: topology.cli, name: "ssh")

                let view = try await topology.waitForSubflows(in: topology.gw, remotePort: 8443) { view in
                    view.count == 2 && view[0].count == 1 && view[1].count == 3
                }
                #expect(view.count == 2, "expected two MPTCP connections: \(view)")
                if view.count == 2 {
                    #expect(
                        view[0].map(\.local) == ["198.18.1.1"],
                        "interactive: exactly one subflow, over A: \(view[0])"
                    )
                    #expect(!view[0][0].isBackup)
                    #expect(
                        view[1].map(\.local) == ["198.18.1.1", "198.18.2.1", "198.18.3.1"],
                        "bulk: A, B and C: \(view[1])"
                    )
                    #expect(view[1].map(\.isBackup) == [false, false, true], "bulk: only C flagged backup: \(view[1])")
                }
                for (name, peer, server, bytes) in [
                    ("bulk", bulk, bulkServer, bulkBytes), ("ssh", ssh, sshServer, sshBytes),
                ] {
                    let sent = try HashPeer.report(try await peer.expectSuccess(seconds: 60).stdout, from: name)
                    let served = try HashPeer.report(try await server.expectSuccess(seconds: 30).stdout, from: name)
                    RelayExpectations.intact(client: sent, server: served, bytes: bytes, name)
                }
                try await gateway.expectLogLine(
                    containing: ["policy=interactive", "result=completed"],
                    "no interactive close line"
                )
                try await gateway.expectLogLine(containing: ["policy=bulk", "result=completed"], "no bulk close line")

                await gateway.stop()
                #expect(
                    try await topology.pathManagerSetting(topology.gw) == "kernel",
                    "the previous setting is restored"
                )
                #expect(gateway.log.contains("restored the namespace's MPTCP path manager"))
            }
        }

        @Test("aggregation: a bulk transfer uses both 100 Mbit/s primaries, and the standby backup stays idle")
        func aggregation() async throws {
            try await RelayTestHarness.run(tag: "pa", rate: "100mbit", uplinkC: true) { harness, topology in
                _ = try await Self.startRelays(harness, topology)
                let bytes = 128 * Self.mebibyte
                // Both ways, so that no DATA_FIN arrives before B's subflow is open.
                let server = try await harness.serve("198.19.0.2:5201", bytes: bytes, in: topology.dst, name: "serve")
                let before = try await Self.uplinkBytes(topology)
                let client = try harness.send("198.18.0.1:8000", bytes: bytes, in: topology.cli, name: "bulk")
                let sent = try HashPeer.report(try await client.expectSuccess(seconds: 60).stdout, from: "bulk")
                let served = try HashPeer.report(try await server.expectSuccess(seconds: 30).stdout, from: "serve")
                let after = try await Self.uplinkBytes(topology)
                #expect(served.received == bytes && served.receivedSHA256 == sent.sentSHA256)

                // Steady state: the median second of the transfer (start-up and the last partial second aside).
                let megabits = Double(served.medianSecondBytes) * 8 / 1e6
                let overall = Double(bytes) * 8 / served.receiveSeconds / 1e6
                print("path manager aggregation: \(Int(megabits)) Mbit/s of 200 (whole transfer \(Int(overall)))")
                // The figure is the benchmark's (Benchmarks/lib/paths.sh): a loaded machine misses any threshold.
                let a = after[0] - before[0]
                let b = after[1] - before[1]
                let c = after[2] - before[2]
                #expect(
                    a * 4 > a + b && b * 4 > a + b,
                    "A carried \(a) and B \(b) bytes: each should carry a real share"
                )
                #expect(c * 100 < a + b, "the standby backup C carried \(c) bytes against \(a + b) on A and B")
            }
        }

        @Test("failover: A then B down, the transfer finishes over C; A back takes the bytes and C is backup again")
        func failover() async throws {
            try await RelayTestHarness.run(tag: "pf", rate: "50mbit", uplinkC: true) { harness, topology in
                let gateway = try await Self.startRelays(harness, topology)
                // Both ways at once: the kernel opens no subflow on a connection whose peer already sent its
                // DATA_FIN, so the server side must still be sending when A comes back.
                let bytes = 64 * Self.mebibyte
                let server = try await harness.serve("198.19.0.2:5201", bytes: bytes, in: topology.dst, name: "serve")
                let client = try harness.send(
                    "198.18.0.1:8000",
                    bytes: bytes,
                    in: topology.cli,
                    name: "bulk",
                    timeout: 60
                )
                _ = try await topology.waitForSubflows(in: topology.gw, remotePort: 8443) { $0.first?.count == 3 }

                try await Task.sleep(nanoseconds: 1_000_000_000)
                let removalsBefore = try await HostilePeerNetworkTests.counter("MPTcpExtRmAddr", in: topology.srv)
                try await topology.setLink(topology.gw, "upa0", up: false)
                try await Task.sleep(nanoseconds: 1_000_000_000)
                try await topology.setLink(topology.gw, "upb0", up: false)
                let onlyC = try await topology.waitForSubflows(in: topology.gw, remotePort: 8443, seconds: 5) { view in
                    view.first?.map(\.local) == ["198.18.3.1"] && view.first?.first?.isBackup == false
                }
                #expect(onlyC.first?.map(\.local) == ["198.18.3.1"], "only C is left: \(onlyC)")
                #expect(onlyC.first?.first?.isBackup == false, "C is promoted: \(onlyC)")
                // The converter was told each dead path's address is gone (REMOVE_ADDR): it stops sending there
                // at once instead of at its retransmission timeout.
                let removals =
                    try await HostilePeerNetworkTests.counter("MPTcpExtRmAddr", in: topology.srv) - removalsBefore
                print("failover: the converter received \(removals) REMOVE_ADDR")
                #expect(removals >= 2, "the converter received \(removals) REMOVE_ADDR for A and B")
                let cBefore = try await topology.txBytes(topology.gw, "upc0")
                try await Task.sleep(nanoseconds: 1_500_000_000)
                let cCarried = try await topology.txBytes(topology.gw, "upc0") - cBefore
                #expect(cCarried > 1_000_000, "C carried \(cCarried) bytes in 1.5 s with A and B down")

                try await topology.setLink(topology.gw, "upa0", up: true)
                let back = try await topology.waitForSubflows(in: topology.gw, remotePort: 8443, seconds: 5) { view in
                    view.first?.map(\.local) == ["198.18.1.1", "198.18.3.1"] && view.first?.last?.isBackup == true
                }
                #expect(back.first?.map(\.local) == ["198.18.1.1", "198.18.3.1"], "A is back: \(back)")
                #expect(back.first?.last?.isBackup == true, "C is backup again: \(back)")
                // Give the demotion a moment to take effect on both ends, then compare a second of traffic.
                try await Task.sleep(nanoseconds: 500_000_000)
                let aStart = try await topology.txBytes(topology.gw, "upa0")
                let cStart = try await topology.txBytes(topology.gw, "upc0")
                let cDownStart = try await topology.txBytes(topology.srv, "upc0")
                try await Task.sleep(nanoseconds: 1_000_000_000)
                let aNew = try await topology.txBytes(topology.gw, "upa0") - aStart
                let cNew = try await topology.txBytes(topology.gw, "upc0") - cStart
                let cDown = try await topology.txBytes(topology.srv, "upc0") - cDownStart
                print("failover, the second after A came back: A \(aNew) bytes, C \(cNew) up and \(cDown) down")
                #expect(aNew > 1_000_000, "A carried \(aNew) bytes in the second after it came back")
                #expect(cNew * 20 < aNew, "C carried \(cNew) bytes next to A's \(aNew): it should be idle again")

                let sent = try HashPeer.report(try await client.expectSuccess(seconds: 90).stdout, from: "bulk")
                let served = try HashPeer.report(try await server.expectSuccess(seconds: 30).stdout, from: "serve")
                RelayExpectations.intact(client: sent, server: served, bytes: bytes, "across the failovers")
                for fragment in [
                    ["path=a", "path went down"], ["path=b", "path went down"], ["path=a", "path came up"],
                ] {
                    let lines = gateway.log.split(separator: "\n").filter { line in
                        fragment.allSatisfy { line.contains($0) }
                    }
                    #expect(lines.count == 1, "logged once: \(fragment) (\(lines.count) times)")
                }
            }
        }

        @Test("a connection whose every allowed path is down is closed with an error, not left hanging")
        func everyPathDown() async throws {
            try await RelayTestHarness.run(tag: "pd", rate: "50mbit", uplinkC: true) { harness, topology in
                let gateway = try await Self.startRelays(harness, topology)
                _ = try await harness.serve(
                    "198.19.0.2:22",
                    bytes: 64 * Self.mebibyte,
                    in: topology.dst,
                    name: "serve-ssh"
                )
                let ssh = try harness.send("198.18.0.1:8022", bytes: 64 * Self.mebibyte, in: topology.cli, name: "ssh")
                _ = try await topology.waitForSubflows(in: topology.gw, remotePort: 8443) { $0.first?.count == 1 }
                try await topology.setLink(topology.gw, "upa0", up: false)
                try await topology.setLink(topology.gw, "upc0", up: false)
                let status = try await ssh.wait(seconds: 10)
                #expect(
                    status != nil && status != 0,
                    "the client saw its connection fail (status \(String(describing: status)))"
                )
                try await gateway.expectLogLine(
                    containing: ["policy=interactive", "result=no_path"],
                    "no close line with result=no_path:\n\(gateway.log)"
                )
            }
        }

        @Test("a connection whose first path is unreachable starts on the next path that is up")
        func firstPathUnreachable() async throws {
            try await RelayTestHarness.run(tag: "pu", rate: "50mbit", uplinkC: true) { harness, topology in
                let gateway = try await Self.startRelays(harness, topology)
                // A's routing table loses its way to the converter while A's link and address stay: the path
                // manager still counts A up (no `table` is configured to watch), and a connect from A's
                // source fails at once with "unreachable", as one does while a path goes down.
                try await ShellCommand.run(["ip", "-n", topology.gw, "route", "flush", "table", "101"], seconds: 10)
                try await ShellCommand.run(
                    ["ip", "-n", topology.gw, "route", "add", "unreachable", "default", "table", "101"],
                    seconds: 10
                )
                let bytes = 8 * Self.mebibyte
                let server = try await harness.serve("198.19.0.2:5201", bytes: bytes, in: topology.dst, name: "serve")
                let client = try harness.send("198.18.0.1:8000", bytes: bytes, in: topology.cli, name: "bulk")
                let onB = try await topology.waitForSubflows(in: topology.gw, remotePort: 8443, seconds: 10) { view in
                    view.first?.first?.local == "198.18.2.1"
                }
                #expect(onB.first?.first?.local == "198.18.2.1", "the connection left on B: \(onB)")
                let sent = try HashPeer.report(try await client.expectSuccess(seconds: 60).stdout, from: "bulk")
                let served = try HashPeer.report(try await server.expectSuccess(seconds: 30).stdout, from: "serve")
                RelayExpectations.intact(client: sent, server: served, bytes: bytes, "started on B after A failed")
                let metrics = try await ShellCommand.run(
                    ["ip", "netns", "exec", topology.gw, "curl", "-sf", "http://127.0.0.1:9090/metrics"],
                    seconds: 10
                )
                #expect(
                    metrics.stdout.contains("mptcp_relay_path_redials_total{listener=\"bulk\"} 1"),
                    "redial not counted:\n\(metrics.stdout.split(separator: "\n").filter { $0.contains("redial") })"
                )
                #expect(!gateway.log.contains("result=connect_failed"), "a connect failure reached the client")
            }
        }

        @Test("a relay killed before its stop leaves userspace behind; the next relay restores the saved setting")
        func killedRelaySettingRestored() async throws {
            try await RelayTestHarness.run(tag: "pk9", uplinkC: true) { harness, topology in
                let first = try await Self.startRelays(harness, topology)
                #expect(try await topology.pathManagerSetting(topology.gw) == "userspace")
                kill(first.child.processIdentifier, SIGKILL)
                _ = try await first.child.wait(seconds: 10)
                #expect(try await topology.pathManagerSetting(topology.gw) == "userspace", "nobody restored it")

                let second = try harness.startRelay("gateway-2", in: topology.gw, config: Self.gatewayConfig)
                try await second.waitListening(on: 8000, in: topology, namespace: topology.gw)
                try await second.expectLogLine(
                    containing: ["left by a relay that did not stop cleanly", "value=kernel"],
                    "the second relay did not find the saved setting:\n\(second.log)"
                )
                await second.stop()
                #expect(try await topology.pathManagerSetting(topology.gw) == "kernel", "restored by the second relay")
            }
        }

        /// Starts the converter in srv and the gateway relay (as path manager) in gw; returns the gateway.
        static func startRelays(_ harness: RelayTestHarness, _ topology: Topology) async throws -> RelayProcess {
            let converter = try harness.startRelay("converter", in: topology.srv, config: converterConfig)
            let gateway = try harness.startRelay("gateway", in: topology.gw, config: gatewayConfig)
            try await converter.waitListening(on: 8443, in: topology, namespace: topology.srv)
            try await gateway.waitListening(on: 8000, in: topology, namespace: topology.gw)
            try await gateway.waitListening(on: 8022, in: topology, namespace: topology.gw)
            return gateway
        }

        /// Transmitted bytes of gw's three uplinks, A, B and C.
        static func uplinkBytes(_ topology: Topology) async throws -> [UInt64] {
            var bytes: [UInt64] = []
            for device in ["upa0", "upb0", "upc0"] {
                bytes.append(try await topology.txBytes(topology.gw, device))
            }
            return bytes
        }

        static let gatewayConfig = """
            [runtime]
            workers = 2
            path_manager = "relay"

            [[listener]]
            name = "bulk"
            role = "forward"
            listen = "198.18.0.1:8000"
            upstream = "198.18.1.2:8443"
            destination = "198.19.0.2:5201"

            [[listener]]
            name = "ssh"
            role = "forward"
            listen = "198.18.0.1:8022"
            upstream = "198.18.1.2:8443"
            destination = "198.19.0.2:22"

            [[path]]
            name = "a"
            interface = "upa0"
            [[path]]
            name = "b"
            interface = "upb0"
            [[path]]
            name = "c"
            interface = "upc0"
            class = "backup"

            [[policy]]
            name = "interactive"
            match = { destination_ports = [22] }
            paths = ["a"]
            backup = ["c"]
            backup_mode = "on-demand"

            [[policy]]
            name = "bulk"
            match = { destinations = ["0.0.0.0/0"] }
            paths = ["a", "b"]
            backup = ["c"]
            backup_mode = "standby"

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
