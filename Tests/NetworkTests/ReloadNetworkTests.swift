import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension NetworkTestSuites {

    /// SIGHUP reloads both relays while 200 transfers run through them: listeners come and go and change,
    /// the gateway's policy moves between uplinks, the converter's allow list changes, and not one transfer
    /// breaks; an invalid file changes nothing.
    @Suite(
        "reload: SIGHUP applies listener and client changes without dropping a connection",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(4))
    )
    struct ReloadNetworkTests {
        static let transfers = 200
        static let reloads = 5
        /// The invalid file comes between rounds 2 and 3.
        static let invalidBeforeRound = 3
        /// One connection through the added listener in each odd round.
        static let probes = 3

        @Test(
            "200 transfers through five reloads of both relays arrive intact; lan2 comes and goes; a bad file is refused"
        )
        func reloadUnderLoad() async throws {
            try await RelayTestHarness.run(tag: "rl", rate: "50mbit") { harness, topology in
                try await topology.withoutJoins()
                let converter = try harness.startRelay("converter", in: topology.srv, config: Self.converter(round: 0))
                let gateway = try harness.startRelay("gateway", in: topology.gw, config: Self.gateway(round: 0))
                try await converter.waitListening(on: 8443, in: topology, namespace: topology.srv)
                try await gateway.waitListening(on: 8000, in: topology, namespace: topology.gw)

                let server = try await LoadPeer.serve(
                    harness,
                    "198.19.0.2:5201",
                    in: topology.dst,
                    name: "serve",
                    arguments: [
                        "--count", "\(Self.transfers + 5 + Self.probes)", "--timeout", "60", "--seconds", "150",
                    ]
                )
                let clients = try LoadPeer.start(
                    harness,
                    "churn",
                    [
                        "--connect", "198.18.0.1:8000", "--count", "\(Self.transfers)", "--parallel", "8",
                        "--upload", "524288", "--download", "524288", "--timeout", "60", "--seconds", "120",
                    ],
                    in: topology.cli,
                    name: "churn"
                )
                for round in 1...Self.reloads {
                    try await Task.sleep(nanoseconds: 700_000_000)
                    if round == Self.invalidBeforeRound {
                        try await Self.refuseInvalidFile(gateway, listening: round % 2 == 0, topology)
                    }
                    try Self.gateway(round: round).write(to: gateway.configURL, atomically: true, encoding: .utf8)
                    try Self.converter(round: round).write(to: converter.configURL, atomically: true, encoding: .utf8)
                    kill(gateway.child.processIdentifier, SIGHUP)
                    kill(converter.child.processIdentifier, SIGHUP)
                    for relay in [gateway, converter] {
                        let count = try await relay.countLogLines(
                            containing: ["reloaded"],
                            excluding: ["refused"],
                            atLeast: round,
                            seconds: 15
                        )
                        #expect(count == round, "\(relay.name): \(count) reloads logged after round \(round)")
                    }
                    // Odd rounds add the second LAN listener, which accepts; even rounds remove it again, and a
                    // new connection to it is refused.
                    let listening = try await Self.listens(on: 8001, in: topology.gw)
                    #expect(listening == (round % 2 == 1), "round \(round): lan2 listening \(listening)")
                    if round % 2 == 1 {
                        let probe = try LoadPeer.start(
                            harness,
                            "churn",
                            [
                                "--connect", "198.18.0.1:8001", "--count", "1", "--parallel", "1", "--upload", "4096",
                                "--download", "4096", "--timeout", "30", "--seconds", "30",
                            ],
                            in: topology.cli,
                            name: "lan2-\(round)"
                        )
                        let probed = try await LoadPeer.report(probe, seconds: 40)
                        #expect(probed.ok == 1, "round \(round): the added listener lan2: \(probed)")
                    } else {
                        #expect(
                            try await !Self.connects(to: "198.18.0.1:8001", from: topology.cli),
                            "round \(round): the removed listener lan2 still took a connection"
                        )
                    }
                }
                #expect(
                    try await gateway.waitForLogLine(containing: ["reloaded", "added=lan2"]),
                    "\(gateway.log.suffix(3000))"
                )
                #expect(
                    try await gateway.waitForLogLine(containing: ["reloaded", "removed=lan2", "changed=lan"]),
                    "\(gateway.log.suffix(3000))"
                )
                #expect(
                    try await converter.waitForLogLine(containing: ["reloaded", "changed=converter"]),
                    "\(converter.log.suffix(3000))"
                )
                let report = try await LoadPeer.report(clients, seconds: 150)
                #expect(report.ok == Self.transfers, "through the reloads: \(report)")
                // Each reload moved the policy: new connections started on its path, live ones kept theirs.
                let policyReloads = try await gateway.countLogLines(
                    containing: ["new connections follow the changed policies"],
                    atLeast: Self.reloads
                )
                #expect(policyReloads == Self.reloads, "\(policyReloads) policy reloads logged")
                for path in ["a", "b"] {
                    #expect(
                        try await gateway.waitForLogLine(containing: [
                            "policy=bulk", "path=\(path) ", "result=completed",
                        ]),
                        "no transfer started on \(path):\n\(gateway.log.suffix(3000))"
                    )
                }

                // The invalid file of before round 3 changed nothing: the relay serves on with what it ran.
                let after = try LoadPeer.start(
                    harness,
                    "churn",
                    [
                        "--connect", "198.18.0.1:8000", "--count", "5", "--parallel", "5", "--upload", "4096",
                        "--download", "4096", "--timeout", "30", "--seconds", "30",
                    ],
                    in: topology.cli,
                    name: "after"
                )
                let afterReport = try await LoadPeer.report(after, seconds: 40)
                #expect(afterReport.ok == 5, "after a refused reload: \(afterReport)")
                let served = try await LoadPeer.report(server, seconds: 30)
                #expect(served.ok == Self.transfers + 5 + Self.probes, "destination: \(served)")
                #expect(gateway.child.isRunning && converter.child.isRunning)
                // The counters carry on across the reloads under the same listener label, and the listener a
                // reload added has its own.
                let metrics = try await ShellCommand.run(
                    ["ip", "netns", "exec", topology.gw, "curl", "-sf", "http://127.0.0.1:9090/metrics"],
                    seconds: 10
                )
                let accepted = metrics.stdout.split(separator: "\n").first {
                    $0.hasPrefix("mptcp_relay_connections_accepted_total{listener=\"lan\"}")
                }
                let count = accepted.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
                #expect(count >= Double(Self.transfers + 5), "lan accepted \(count): \(accepted ?? "no line")")
                #expect(metrics.stdout.contains("mptcp_relay_connections_accepted_total{listener=\"lan2\"}"))
            }
        }

        /// Before this round's valid file, an invalid one: refused with file, line and key, and nothing
        /// changes (`lan2` stays as the round before left it).
        static func refuseInvalidFile(_ gateway: RelayProcess, listening: Bool, _ topology: Topology) async throws {
            try "[runtime]\nworkers = \"two\"\n".write(to: gateway.configURL, atomically: true, encoding: .utf8)
            kill(gateway.child.processIdentifier, SIGHUP)
            #expect(
                try await gateway.waitForLogLine(containing: ["reload refused", "gateway.toml:2: runtime.workers"]),
                "\(gateway.log.suffix(2000))"
            )
            #expect(try await Self.listens(on: 8001, in: topology.gw) == listening, "the invalid file changed lan2")
        }

        /// Whether a TCP connect from `namespace` to `endpoint` (ADDRESS:PORT) succeeds within 5 s.
        static func connects(to endpoint: String, from namespace: String) async throws -> Bool {
            let parts = endpoint.split(separator: ":")
            let result = try? await ShellCommand.run(
                [
                    "ip", "netns", "exec", namespace, "timeout", "5", "bash", "-c",
                    "exec 3<>/dev/tcp/\(parts[0])/\(parts[1])",
                ],
                seconds: 10
            )
            return result != nil
        }

        /// Whether something listens on TCP `port` in `namespace`.
        static func listens(on port: Int, in namespace: String) async throws -> Bool {
            let result = try await ShellCommand.run(
                ["ip", "netns", "exec", namespace, "ss", "-Hltn", "sport = :\(port)"],
                seconds: 10
            )
            return !result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        }

        /// The gateway's file in `round`: `lan` always (its mark changes, so it counts as changed and hands
        /// its socket over), `lan2` in odd rounds, and the relay as path manager with one policy whose one
        /// path alternates, A in even rounds and B in odd ones (one path: no joins, see `withoutJoins`).
        static func gateway(round: Int) -> String {
            var text = """
                [runtime]
                workers = 2
                path_manager = "relay"

                [[path]]
                name = "a"
                interface = "upa0"
                [[path]]
                name = "b"
                interface = "upb0"

                [[policy]]
                name = "bulk"
                paths = ["\(round % 2 == 0 ? "a" : "b")"]

                [[listener]]
                name = "lan"
                role = "forward"
                listen = "198.18.0.1:8000"
                upstream = "198.18.1.2:8443"
                destination = "198.19.0.2:5201"
                mark = \(round + 1)

                """
            if round % 2 == 1 {
                text += """

                    [[listener]]
                    name = "lan2"
                    role = "forward"
                    listen = "198.18.0.1:8001"
                    upstream = "198.18.1.2:8443"
                    destination = "198.19.0.2:5201"

                    """
            }
            return text
        }

        /// The converter's file in `round`: its allow list grows and shrinks.
        static func converter(round: Int) -> String {
            let allow = round % 2 == 1 ? "[\"198.19.0.0/24\", \"198.19.7.0/24\"]" : "[\"198.19.0.0/24\"]"
            return """
                [runtime]
                workers = 2

                [[listener]]
                name = "converter"
                role = "convert"
                authentication = "none"
                listen = "0.0.0.0:8443"
                allow = \(allow)

                """
        }
    }
}
