import Foundation
import Testing

extension NetworkTestSuites {

    /// Slow and hostile peers from issue 11's fault table, through forward (gw) → MPTCP → convert (srv) →
    /// dst: clients that never read, clients that reset mid-transfer by the hundred, and a SYN flood on the
    /// converter. The relays keep their memory, free what the peers abandon, and the other connections
    /// running beside them arrive intact. (A header sent one byte a second is `header_timeout`'s loopback
    /// test.)
    @Suite(
        "hostile peers: zero-window readers, a reset storm, a SYN flood on the converter",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(3))
    )
    struct HostilePeerNetworkTests {
        static let stalled = 20
        static let resetting = 300
        static let bystanders = 20

        @Test("zero-window readers: relay memory stays put, the idle timeout frees them, others are unaffected")
        func zeroWindowReaders() async throws {
            try await RelayTestHarness.run(tag: "hz") { harness, topology in
                try await topology.tuneForLoad()
                try await topology.withoutJoins()
                let relays = try await LoadNetworkTests.startRelays(
                    harness,
                    topology,
                    dataPath: "auto",
                    forwarderRuntime: "idle_timeout = 6\n"
                )
                let before = try relays.resources()
                let server = try await LoadPeer.serve(
                    harness,
                    "198.19.0.2:5201",
                    in: topology.dst,
                    name: "serve",
                    arguments: ["--count", "\(Self.stalled + Self.bystanders)", "--timeout", "40", "--seconds", "60"]
                )
                // Each asks for 64 MiB and reads none of it, with a 4 KiB receive buffer: its window closes. The
                // buffers on the way hold a few MiB (topo_tune_load), the relays one pipe each way at most.
                let stalling = try LoadPeer.start(
                    harness,
                    "stall",
                    [
                        "--connect", "198.18.0.1:8000", "--count", "\(Self.stalled)", "--download", "\(64 << 20)",
                        "--hold-seconds", "15", "--timeout", "10", "--seconds", "40",
                    ],
                    in: topology.cli,
                    name: "stall"
                )
                try await LoadPeer.waitFor(stalling, stderrContaining: "connections holding", seconds: 20)
                try await Task.sleep(nanoseconds: 2_000_000_000)
                let stuck = try relays.resources()
                let stuckGauges = try await relays.gauges()
                print(
                    "zero window: before \(before.forwarder) / \(before.converter); stuck \(stuck.forwarder) / \(stuck.converter)"
                )
                for (name, now, then, figures) in [
                    ("forwarder", stuck.forwarder, before.forwarder, stuckGauges.forwarder),
                    ("converter", stuck.converter, before.converter, stuckGauges.converter),
                ] {
                    #expect(figures.activeConnections == Double(Self.stalled), "\(name): \(figures)")
                    #expect(
                        now.residentKiB - then.residentKiB <= 4096,
                        "\(name): RSS grew \(now.residentKiB - then.residentKiB) KiB"
                    )
                    #expect(figures.pipesInUse <= Double(2 * Self.stalled), "\(name): \(figures)")
                }

                // Beside them, other connections move 1 MiB each way, intact.
                let others = try LoadPeer.start(
                    harness,
                    "many",
                    [
                        "--connect", "198.18.0.1:8000", "--count", "\(Self.bystanders)", "--upload", "\(1 << 20)",
                        "--download", "\(1 << 20)", "--timeout", "20", "--seconds", "30",
                    ],
                    in: topology.cli,
                    name: "others"
                )
                let othersReport = try await LoadPeer.report(others, seconds: 40)
                #expect(othersReport.ok == Self.bystanders, "beside the stalled readers: \(othersReport)")

                // No byte moves on the stalled ones: the idle timeout (6 s) ends each with a reset on both sides.
                let idle = "mptcp_relay_connections_closed_total{listener=\"lan\",result=\"idle_timeout\"}"
                let quiet = try await relays.waitQuiet()
                #expect(
                    quiet.forwarder.sample(idle) == Double(Self.stalled),
                    "forwarder: \(quiet.forwarder.sample(idle)) idle timeouts"
                )
                // Their pipes waited for a writable sink for seconds, so the stall probe tried each: a sink with
                // no room answers EAGAIN, which is no lost wakeup and is not counted.
                for (name, figures) in [("forwarder", quiet.forwarder), ("converter", quiet.converter)] {
                    let recovered = RelayGauges.sum(figures.text, "mptcp_relay_stalled_writes_recovered_total")
                    #expect(recovered == 0, "\(name): \(recovered) writes counted as recovered from a full sink")
                }
                let served = try await LoadPeer.report(server, seconds: 60)
                #expect(served.ok == Self.bystanders, "the destination sent the stalled readers everything? \(served)")
                LoadNetworkTests.expectReleased(try relays.resources(), cold: before, gauges: quiet, "after the stall")
                _ = try await LoadPeer.report(stalling, seconds: 30)
            }
        }

        @Test("a reset storm: hundreds of clients reset mid-transfer; both relays free them all, others intact")
        func resetStorm() async throws {
            try await RelayTestHarness.run(tag: "hr") { harness, topology in
                try await topology.tuneForLoad()
                try await topology.withoutJoins()
                let relays = try await LoadNetworkTests.startRelays(harness, topology, dataPath: "auto")
                let before = try relays.resources()
                let server = try await LoadPeer.serve(
                    harness,
                    "198.19.0.2:5201",
                    in: topology.dst,
                    name: "serve",
                    arguments: ["--count", "\(Self.resetting + Self.bystanders)", "--timeout", "20", "--seconds", "60"]
                )
                let others = try LoadPeer.start(
                    harness,
                    "many",
                    [
                        "--connect", "198.18.0.1:8000", "--count", "\(Self.bystanders)", "--upload", "\(4 << 20)",
                        "--download", "\(4 << 20)", "--timeout", "30", "--seconds", "40",
                    ],
                    in: topology.cli,
                    name: "others"
                )
                // Each asks for 16 MiB, reads 64 KiB of it and resets: all at once, while the others run.
                let storm = try LoadPeer.start(
                    harness,
                    "reset",
                    [
                        "--connect", "198.18.0.1:8000", "--count", "\(Self.resetting)", "--download", "\(16 << 20)",
                        "--read", "65536", "--timeout", "20", "--seconds", "30",
                    ],
                    in: topology.cli,
                    name: "storm"
                )
                let stormReport = try await LoadPeer.report(storm, seconds: 40)
                #expect(
                    stormReport.ok == Self.resetting,
                    "not every client got its bytes before the reset: \(stormReport)"
                )
                let othersReport = try await LoadPeer.report(others, seconds: 40)
                #expect(othersReport.ok == Self.bystanders, "beside the reset storm: \(othersReport)")

                let quiet = try await relays.waitQuiet()
                for (name, listener, figures) in [
                    ("forwarder", "lan", quiet.forwarder), ("converter", "converter", quiet.converter),
                ] {
                    let resets = figures.sample(
                        "mptcp_relay_connections_closed_total{listener=\"\(listener)\",result=\"downstream_reset\"}"
                    )
                    let completed = figures.sample(
                        "mptcp_relay_connections_closed_total{listener=\"\(listener)\",result=\"completed\"}"
                    )
                    #expect(resets == Double(Self.resetting), "\(name): \(resets) closed as downstream_reset")
                    #expect(completed == Double(Self.bystanders), "\(name): \(completed) completed")
                }
                let served = try await LoadPeer.report(server, seconds: 60)
                #expect(served.ok == Self.bystanders, "destination: \(served)")
                let after = try relays.resources()
                print(
                    "reset storm: before \(before.forwarder) / \(before.converter); after \(after.forwarder) / \(after.converter)"
                )
                LoadNetworkTests.expectReleased(after, cold: before, gauges: quiet, "after the storm")
                for (name, now, then) in [
                    ("forwarder", after.forwarder, before.forwarder), ("converter", after.converter, before.converter),
                ] {
                    #expect(
                        now.residentKiB - then.residentKiB <= 4096,
                        "\(name): RSS grew \(now.residentKiB - then.residentKiB) KiB"
                    )
                }
            }
        }

        @Test("a SYN flood on the converter: half-open requests never reach it, others connect and arrive intact")
        func synFlood() async throws {
            try await RelayTestHarness.run(tag: "hs") { harness, topology in
                try await topology.tuneForLoad()
                try await topology.withoutJoins()
                let relays = try await LoadNetworkTests.startRelays(harness, topology, dataPath: "auto")
                // Spoofed sources in 198.18.128.0/17: srv routes them to gw, which drops them, so each SYN-ACK
                // goes unanswered and every SYN leaves a half-open request on the converter's listeners.
                try await ShellCommand.run(
                    ["ip", "-n", topology.srv, "route", "add", "198.18.128.0/17", "via", "198.18.1.1"],
                    seconds: 10
                )
                try await ShellCommand.run(
                    ["ip", "-n", topology.gw, "route", "add", "blackhole", "198.18.128.0/17"],
                    seconds: 10
                )
                let before = try relays.resources()
                let acceptedBefore = try await relays.gauges().converter.sample(Self.convertAccepted)
                let flood = try harness.start(
                    [
                        "ip", "netns", "exec", topology.gw, "python3",
                        NetworkTestEnvironment.packageRoot.appendingPathComponent("scripts/lib/synflood.py").path,
                        "--target", "198.18.1.2:8443", "--sources", "198.18.128.0/17", "--count", "200000",
                        "--rate", "20000", "--seconds", "15",
                    ],
                    name: "synflood"
                )
                // Wait until the SYN queues are full and the kernel answers with cookies.
                var cookies = 0
                for _ in 0..<50 where cookies == 0 {
                    try await Task.sleep(nanoseconds: 200_000_000)
                    cookies = try await Self.counter("TcpExtTCPReqQFullDoCookies", in: topology.srv)
                }
                #expect(cookies > 0, "the flood never filled the converter's SYN queue")

                let server = try await LoadPeer.serve(
                    harness,
                    "198.19.0.2:5201",
                    in: topology.dst,
                    name: "serve",
                    arguments: ["--count", "\(Self.flooded)", "--timeout", "30", "--seconds", "60"]
                )
                let others = try LoadPeer.start(
                    harness,
                    "many",
                    [
                        "--connect", "198.18.0.1:8000", "--count", "\(Self.flooded)", "--upload", "65536",
                        "--download", "65536", "--timeout", "30", "--seconds", "40",
                    ],
                    in: topology.cli,
                    name: "others"
                )
                let othersReport = try await LoadPeer.report(others, seconds: 50)
                let stillFlooding = flood.isRunning
                #expect(othersReport.ok == Self.flooded, "during the flood: \(othersReport)")
                #expect(stillFlooding, "the flood ended before the other connections did")
                _ = try await flood.expectSuccess(seconds: 30)
                _ = try await LoadPeer.report(server, seconds: 30)

                let quiet = try await relays.waitQuiet()
                let accepted = quiet.converter.sample(Self.convertAccepted) - acceptedBefore
                #expect(accepted == Double(Self.flooded), "the converter accepted \(accepted) connections")
                let after = try relays.resources()
                let syncookies = try await Self.counter("TcpExtSyncookiesSent", in: topology.srv)
                print(
                    "syn flood: \(syncookies) SYN cookies sent; converter before \(before.converter), after \(after.converter)"
                )
                LoadNetworkTests.expectReleased(after, cold: before, gauges: quiet, "after the flood")
                #expect(
                    after.converter.residentKiB - before.converter.residentKiB <= 4096,
                    "converter: RSS grew \(after.converter.residentKiB - before.converter.residentKiB) KiB"
                )
            }
        }

        /// Connections relayed beside the SYN flood.
        static let flooded = 200
        static let convertAccepted = "mptcp_relay_connections_accepted_total{listener=\"converter\"}"

        /// An absolute counter of `nstat` in `namespace` (0 when it has not moved).
        static func counter(_ name: String, in namespace: String) async throws -> Int {
            let output = try await ShellCommand.run(["ip", "netns", "exec", namespace, "nstat", "-asz", name]).stdout
            let line = output.split(separator: "\n").first { $0.hasPrefix(name + " ") }
            return line.flatMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first }
                .flatMap { Int($0) } ?? 0
        }
    }
}
