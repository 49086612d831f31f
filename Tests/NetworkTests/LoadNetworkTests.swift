import Foundation
import Testing

extension NetworkTestSuites {

    /// Load from issue 11's fault table, through forward (gw) → MPTCP → convert (srv) → dst: thousands of
    /// connections open at once, and a long run of short ones. Every byte arrives with the right digest,
    /// and afterwards the relays hold no more sockets, pipes or memory than before.
    @Suite(
        "load: thousands of concurrent connections, and churn",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(5))
    )
    struct LoadNetworkTests {
        /// Concurrent connections: 10 000, or fewer when the open-file limit cannot hold them. Each holds
        /// two sockets in each relay, and each relay keeps 4 000 descriptors spare for pipes in flight, the
        /// pipe pool and its own; so under this machine's hard limit of 20 000 (which root cannot raise
        /// here: no CAP_SYS_RESOURCE) it is 8 000.
        static let concurrentConnections = min(10_000, (NetworkTestEnvironment.openFileLimit - 4_000) / 2)

        /// Short connections of the churn test: `MPTCP_RELAY_CHURN_CONNECTIONS`, 20 000 by default (about
        /// 15 s here); `scripts/stress/churn.sh` runs 100 000.
        static let churnConnections =
            ProcessInfo.processInfo.environment["MPTCP_RELAY_CHURN_CONNECTIONS"].flatMap { Int($0) } ?? 20_000

        /// Pipes a relay's pool may keep idle: 256 per worker, 2 workers.
        static let poolCapacity = 2 * 256

        @Test("thousands of concurrent connections, 32 KiB each way: all intact; sockets, pipes and memory back")
        func manyConnections() async throws {
            let count = Self.concurrentConnections
            try #require(count >= 1_000, "open-file limit \(NetworkTestEnvironment.openFileLimit) is too low")
            try await RelayTestHarness.run(tag: "lm") { harness, topology in
                try await topology.tuneForLoad()
                try await topology.withoutJoins()
                let relays = try await Self.startRelays(harness, topology, dataPath: "auto")
                let cold = try relays.resources()
                print("load: \(count) connections; cold: forwarder \(cold.forwarder), converter \(cold.converter)")

                // Round 1 touches what stays resident for good (the worker tables are sized by max_connections
                // and their pages stay once used); rounds 2 and 3 must then cost nothing more. (Before
                // HeapPolicy fixed glibc's thresholds, RSS stepped up by 3.5 MiB for good in round 2 or 3,
                // when a thread that had run a metrics scrape of all 8 000 connections kept its heap.)
                var after: [RelayPair<ProcessResources>] = []
                for round in 1...3 {
                    let release = harness.scratch.appendingPathComponent("release-\(round)")
                    let server = try await LoadPeer.serve(
                        harness,
                        "198.19.0.2:5201",
                        in: topology.dst,
                        name: "serve-\(round)",
                        arguments: [
                            "--count", "\(count)", "--hold", "\(count)", "--release-file", release.path,
                            "--timeout", "150", "--seconds", "180",
                        ]
                    )
                    let clients = try LoadPeer.start(
                        harness,
                        "many",
                        [
                            "--connect", "198.18.0.1:8000", "--count", "\(count)", "--upload", "32768",
                            "--download", "32768", "--timeout", "150", "--seconds", "180",
                        ],
                        in: topology.cli,
                        name: "many-\(round)"
                    )
                    // The destination answers nobody before every upload is in: all are open at once.
                    try await LoadPeer.waitFor(server, stderrContaining: "uploads in", seconds: 150)
                    let peakGauges = try await relays.gauges()
                    let peak = try relays.resources()
                    print("load: round \(round) all open: forwarder \(peak.forwarder), converter \(peak.converter)")
                    #expect(
                        peakGauges.forwarder.activeConnections == Double(count),
                        "forwarder: \(peakGauges.forwarder)"
                    )
                    #expect(
                        peakGauges.converter.activeConnections == Double(count),
                        "converter: \(peakGauges.converter)"
                    )
                    try Data().write(to: release)

                    let sent = try await LoadPeer.report(clients, seconds: 180)
                    let served = try await LoadPeer.report(server, seconds: 30)
                    print("load: round \(round): clients \(sent); destination \(served)")
                    #expect(sent.ok == count, "round \(round), clients: \(sent)")
                    #expect(served.ok == count && served.peakOpen == count, "round \(round), destination: \(served)")

                    let quiet = try await relays.waitQuiet()
                    let now = try relays.resources()
                    print("load: round \(round) after: forwarder \(now.forwarder), converter \(now.converter)")
                    Self.expectReleased(now, cold: cold, gauges: quiet, "round \(round)")
                    after.append(now)
                }
                for (name, first, third, coldRSS) in [
                    ("forwarder", after[0].forwarder, after[2].forwarder, cold.forwarder.residentKiB),
                    ("converter", after[0].converter, after[2].converter, cold.converter.residentKiB),
                ] {
                    // At most 4 KiB a connection for the tables that stay resident (measured: about 1).
                    #expect(
                        first.residentKiB - coldRSS <= 4 * count,
                        "\(name): RSS grew by \(first.residentKiB - coldRSS) KiB in round 1"
                    )
                    // Measured: 150 to 300 KiB over rounds 2 and 3 together.
                    #expect(
                        third.residentKiB - first.residentKiB <= 2048,
                        "\(name): RSS grew by \(third.residentKiB - first.residentKiB) KiB in rounds 2 and 3"
                    )
                }
            }
        }

        @Test("churn: many short connections at full speed; no socket, pipe or memory growth")
        func churn() async throws {
            let count = Self.churnConnections
            try await RelayTestHarness.run(tag: "lc") { harness, topology in
                try await topology.tuneForLoad()
                try await topology.withoutJoins()
                // Splice on both relays: every direction of every connection takes a pipe and gives it back.
                let relays = try await Self.startRelays(harness, topology, dataPath: "splice")
                let cold = try relays.resources()

                // A warm-up fills the pipe pools and touches the tables; the baseline is taken after it.
                let warm = try await Self.runChurn(harness, topology, count: 2_000, name: "warm-up")
                #expect(warm.ok == 2_000, "warm-up: \(warm)")
                _ = try await relays.waitQuiet()
                let baseline = try relays.resources()
                let before = try await relays.gauges()
                print("churn: baseline after warm-up: forwarder \(baseline.forwarder), converter \(baseline.converter)")

                let report = try await Self.runChurn(harness, topology, count: count, name: "churn")
                print("churn: \(count) connections: \(report)")
                #expect(report.ok == count, "clients: \(report)")
                if report.ok != count {
                    // What the relays and the kernels saw of it: each relay's warnings (close lines of failed
                    // connections) and the MPTCP counters (checksum errors, resets, fallbacks).
                    print("churn: forwarder log: \(relays.forwarder.log.suffix(3000))")
                    print("churn: converter log: \(relays.converter.log.suffix(3000))")
                    print("churn: MPTCP counters: \(await topology.mptcpCounters())")
                }
                let quiet = try await relays.waitQuiet()
                let now = try relays.resources()
                print("churn: after: forwarder \(now.forwarder), converter \(now.converter)")
                Self.expectReleased(now, cold: cold, gauges: quiet, "after churn")
                for (name, first, second, gaugesBefore, gaugesAfter) in [
                    ("forwarder", baseline.forwarder, now.forwarder, before.forwarder, quiet.forwarder),
                    ("converter", baseline.converter, now.converter, before.converter, quiet.converter),
                ] {
                    #expect(
                        second.residentKiB - first.residentKiB <= 4096,
                        "\(name): RSS grew by \(second.residentKiB - first.residentKiB) KiB"
                    )
                    let completed =
                        "mptcp_relay_connections_closed_total{listener=\"\(name == "forwarder" ? "lan" : "converter")\",result=\"completed\"}"
                    #expect(
                        gaugesAfter.sample(completed) - gaugesBefore.sample(completed) == Double(count),
                        "\(name): \(gaugesAfter.sample(completed) - gaugesBefore.sample(completed)) completed of \(count)"
                    )
                }
            }
        }

        /// Runs `count` short connections (256 bytes up, 2 KiB down, 64 at a time) against a fresh destination.
        static func runChurn(
            _ harness: RelayTestHarness,
            _ topology: Topology,
            count: Int,
            name: String
        ) async throws -> LoadPeerReport {
            let seconds = max(120, count / 400)
            let server = try await LoadPeer.serve(
                harness,
                "198.19.0.2:5201",
                in: topology.dst,
                name: "serve-\(name)",
                arguments: ["--count", "\(count)", "--timeout", "30", "--seconds", "\(seconds + 10)"]
            )
            let clients = try LoadPeer.start(
                harness,
                "churn",
                [
                    "--connect", "198.18.0.1:8000", "--count", "\(count)", "--parallel", "64", "--upload", "256",
                    "--download", "2048", "--timeout", "30", "--seconds", "\(seconds)",
                ],
                in: topology.cli,
                name: name
            )
            let report = try await LoadPeer.report(clients, seconds: Double(seconds + 10))
            let served = try await LoadPeer.report(server, seconds: 30)
            #expect(served.ok == count, "\(name), destination: \(served)")
            return report
        }

        /// With every connection closed: no connection open, no pipe held, the sockets of before (listeners,
        /// metrics, netlink), and exactly the pipe ends of before plus the idle pipes the pool reports (so no
        /// pipe escaped the count), which the pool's capacity bounds.
        static func expectReleased(
            _ now: RelayPair<ProcessResources>,
            cold: RelayPair<ProcessResources>,
            gauges: RelayPair<RelayGauges>,
            _ label: String,
            sourceLocation: SourceLocation = #_sourceLocation
        ) {
            for (name, resources, before, figures) in [
                ("forwarder", now.forwarder, cold.forwarder, gauges.forwarder),
                ("converter", now.converter, cold.converter, gauges.converter),
            ] {
                #expect(figures.activeConnections == 0, "\(label), \(name): \(figures)", sourceLocation: sourceLocation)
                #expect(figures.pipesInUse == 0, "\(label), \(name): \(figures)", sourceLocation: sourceLocation)
                #expect(
                    figures.pipesIdle <= Double(poolCapacity),
                    "\(label), \(name): \(figures)",
                    sourceLocation: sourceLocation
                )
                #expect(
                    resources.sockets == before.sockets,
                    "\(label), \(name): \(resources.sockets) sockets, \(before.sockets) before",
                    sourceLocation: sourceLocation
                )
                #expect(
                    resources.pipeEnds == before.pipeEnds + 2 * Int(figures.pipesIdle),
                    "\(label), \(name): \(resources.pipeEnds) pipe ends; \(before.pipeEnds) before, \(figures)",
                    sourceLocation: sourceLocation
                )
            }
        }

        /// The converter in srv and the forwarder in gw (2 workers each, `data_path`), logging warnings only
        /// (a close line per connection would cost more than the relaying), both listening.
        static func startRelays(
            _ harness: RelayTestHarness,
            _ topology: Topology,
            dataPath: String,
            forwarderRuntime: String = ""
        ) async throws -> LoadRelays {
            let runtime = "[runtime]\nworkers = 2\ndata_path = \"\(dataPath)\"\n"
            let converter = try harness.startRelay(
                "converter",
                in: topology.srv,
                config: runtime + Self.converterListener,
                logLevel: "warning"
            )
            let forwarder = try harness.startRelay(
                "forwarder",
                in: topology.gw,
                config: runtime + forwarderRuntime + Self.forwarderListener,
                logLevel: "warning"
            )
            try await converter.waitListening(on: 8443, in: topology, namespace: topology.srv)
            try await forwarder.waitListening(on: 8000, in: topology, namespace: topology.gw)
            return LoadRelays(forwarder: forwarder, converter: converter, topology: topology)
        }

        static let forwarderListener = """

            [[listener]]
            name = "lan"
            role = "forward"
            listen = "198.18.0.1:8000"
            upstream = "198.18.1.2:8443"
            destination = "198.19.0.2:5201"

            """

        static let converterListener = """

            [[listener]]
            name = "converter"
            role = "convert"
            authentication = "none"
            listen = "0.0.0.0:8443"
            allow = ["198.19.0.0/24"]

            """
    }
}

/// A figure of each relay: the forwarder's in gw and the converter's in srv.
struct RelayPair<Value> {
    var forwarder: Value
    var converter: Value
}

/// The two relays of a load test and where they run.
struct LoadRelays {
    var forwarder: RelayProcess
    var converter: RelayProcess
    var topology: Topology

    /// Both relays' /proc figures.
    func resources() throws -> RelayPair<ProcessResources> {
        RelayPair(
            forwarder: try ProcessResources.sample(forwarder.child.processIdentifier),
            converter: try ProcessResources.sample(converter.child.processIdentifier)
        )
    }

    /// Both relays' metrics.
    func gauges() async throws -> RelayPair<RelayGauges> {
        RelayPair(
            forwarder: try await RelayGauges.scrape(topology.gw),
            converter: try await RelayGauges.scrape(topology.srv)
        )
    }

    /// Both relays' metrics once no connection is open and no pipe held (bounded wait).
    func waitQuiet() async throws -> RelayPair<RelayGauges> {
        RelayPair(
            forwarder: try await RelayGauges.waitQuiet(topology.gw),
            converter: try await RelayGauges.waitQuiet(topology.srv)
        )
    }
}
