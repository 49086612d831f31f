import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension NetworkTestSuites {

    /// Two converters behind one address (docs/SCALE-OUT.md): srv balances the initial subflows with the
    /// shipped `packaging/loadbalancer/nftables.sh`, each instance announces an address of its own and
    /// forbids joins to the balanced one, and the gateway's joins go straight to the instance that owns
    /// the connection.
    @Suite(
        "scale-out: two converters behind one address",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(3))
    )
    struct ScaleOutNetworkTests {
        static let connections = 50

        @Test(
            "50 connections through the balancer: both instances serve, every join reaches its owner, all intact",
            arguments: ["relay", "kernel"]
        )
        func twoInstancesBehindOneAddress(gatewayPathManager: String) async throws {
            try await RelayTestHarness.run(tag: "so", rate: "50mbit", uplinkC: true) { harness, topology in
                let setup = try await Self.start(harness, topology, gatewayPathManager: gatewayPathManager)
                let report = try await Self.transfers(harness, topology, count: Self.connections, name: "first")
                #expect(report.clients.ok == Self.connections, "clients: \(report.clients)")
                #expect(report.served.ok == Self.connections, "destination: \(report.served)")

                // Both instances got connections; every join the gateway opened was accepted by the instance
                // that owns its connection: none refused, none with an unknown token (a join through the
                // balancer to the other instance would be one).
                var accepted: [Int] = []
                var joins = 0
                for namespace in setup.namespaces {
                    accepted.append(try await Self.counter("MPCapableACKRX", in: namespace))
                    joins += try await Self.counter("MPJoinAckRx", in: namespace)
                    for refusal in ["MPJoinNoTokenFound", "MPJoinRejected", "MPJoinSynRxErr"] {
                        let count = try await Self.counter(refusal, in: namespace)
                        #expect(count == 0, "\(namespace): \(refusal) = \(count)")
                    }
                }
                let opened = try await Self.counter("MPJoinSynTx", in: topology.gw)
                print(
                    "scale-out (\(gatewayPathManager)): connections per instance \(accepted), joins opened \(opened), accepted \(joins)"
                )
                #expect(accepted.allSatisfy { $0 > 0 }, "both instances serve: \(accepted)")
                #expect(accepted.reduce(0, +) == Self.connections, "every connection on one instance: \(accepted)")
                #expect(joins >= Self.connections, "joins accepted by their owners: \(joins) of \(opened) opened")
            }
        }

        @Test(
            "an instance killed: only its own connections break; the balancer without it sends new ones to the survivor"
        )
        func instanceKilled() async throws {
            try await RelayTestHarness.run(tag: "sk", rate: "50mbit", uplinkC: true) { harness, topology in
                let setup = try await Self.start(harness, topology, gatewayPathManager: "relay")
                let count = 20
                let release = harness.scratch.appendingPathComponent("release")
                let server = try await LoadPeer.serve(
                    harness,
                    "198.19.0.2:5201",
                    in: topology.dst,
                    name: "serve-held",
                    arguments: [
                        "--count", "\(count)", "--hold", "\(count)", "--release-file", release.path, "--timeout", "60",
                        "--seconds", "90",
                    ]
                )
                let clients = try LoadPeer.start(
                    harness,
                    "many",
                    [
                        "--connect", "198.18.0.1:8000", "--count", "\(count)", "--upload", "65536", "--download",
                        "4194304", "--timeout", "60", "--seconds", "80",
                    ],
                    in: topology.cli,
                    name: "held"
                )
                // Every connection open and waiting for its reply: the instances' /connections together list
                // each of them once, every subflow on the instance's own addresses. (These clients have sent
                // their request and half-closed, so the kernel refuses their joins: one subflow each. The first
                // test checks the joins through the kernels' counters.)
                try await LoadPeer.waitFor(server, stderrContaining: "uploads in", seconds: 60)
                var held: [[[String]]] = []
                for _ in 0..<50 {
                    held = []
                    for namespace in setup.namespaces { held.append(try await Self.subflowLocals(in: namespace)) }
                    if held.flatMap({ $0 }).count == count { break }
                    try await Task.sleep(for: .milliseconds(200))
                }
                #expect(held.flatMap { $0 }.count == count, "the instances hold every connection once: \(held)")
                for (index, connections) in held.enumerated() {
                    let own = ["198.19.1\(index).2", "198.19.1\(index).3"]
                    for locals in connections {
                        #expect(!locals.isEmpty && locals.allSatisfy(own.contains), "instance \(index + 1): \(locals)")
                    }
                }
                // Then one instance dies.
                let owned = try await Self.counter("MPCapableACKRX", in: setup.namespaces[0])
                kill(setup.instances[0].child.processIdentifier, SIGKILL)
                try Data().write(to: release)
                let report = try await LoadPeer.report(clients, seconds: 90)
                _ = try await LoadPeer.report(server, seconds: 30)
                print("scale-out: instance 1 owned \(owned) of \(count) when killed; clients \(report)")
                #expect(owned > 0 && owned < count, "both instances held connections: \(owned) of \(count)")
                #expect(report.ok == count - owned, "the survivor's connections finish intact: \(report)")

                // The operator (or a health check) takes the dead instance out of the balancer.
                try await ShellCommand.run(
                    [
                        "ip", "netns", "exec", topology.srv, Self.balancer, "--public", "198.18.1.2:8443",
                        "--backend", "198.19.11.2", "up",
                    ],
                    seconds: 10
                )
                let before = try await Self.counter("MPCapableACKRX", in: setup.namespaces[1])
                let after = try await Self.transfers(harness, topology, count: 10, name: "after")
                #expect(after.clients.ok == 10, "new connections after the failure: \(after.clients)")
                let survivor = try await Self.counter("MPCapableACKRX", in: setup.namespaces[1])
                #expect(survivor - before == 10, "all 10 on the survivor: \(survivor - before)")
            }
        }

        /// The balancer script, as shipped.
        static var balancer: String {
            NetworkTestEnvironment.packageRoot.appendingPathComponent("packaging/loadbalancer/nftables.sh").path
        }

        /// The instances and their namespaces.
        struct Setup {
            var instances: [RelayProcess]
            var namespaces: [String]
        }

        /// Two converter namespaces behind srv (`topo_add_converters`), the balancer on srv, an instance in
        /// each announcing its second address (.3: the kernel never announces the one its connections
        /// already use, the balancer's target .2), and the gateway on `relay` or the kernel's path manager.
        static func start(
            _ harness: RelayTestHarness,
            _ topology: Topology,
            gatewayPathManager: String
        ) async throws -> Setup {
            try await topology.call("topo_add_converters", [topology.prefix], seconds: 30)
            try await ShellCommand.run(
                [
                    "ip", "netns", "exec", topology.srv, balancer, "--public", "198.18.1.2:8443",
                    "--backend", "198.19.10.2", "--backend", "198.19.11.2", "up",
                ],
                seconds: 10
            )
            var setup = Setup(instances: [], namespaces: [])
            for (index, address) in ["198.19.10.3", "198.19.11.3"].enumerated() {
                let namespace = topology.prefix + "cv\(index + 1)"
                let config =
                    PathManagerNetworkTests.converterConfig.replacingOccurrences(
                        of: "workers = 2",
                        with: "workers = 2\nannounce = [\"\(address)\"]"
                    ) + GatewayTables.metrics
                let instance = try harness.startRelay("converter\(index + 1)", in: namespace, config: config)
                try await instance.waitListening(on: 8443, in: topology, namespace: namespace)
                setup.instances.append(instance)
                setup.namespaces.append(namespace)
            }
            let gatewayConfig: String
            if gatewayPathManager == "relay" {
                gatewayConfig = PathManagerNetworkTests.gatewayConfig
            } else {
                // The kernel's path manager with `fullmesh` endpoints (docs/SCALE-OUT.md): on an announcement
                // it opens a subflow from each of them to the announced address.
                try await ShellCommand.run(["ip", "-n", topology.gw, "mptcp", "endpoint", "flush"], seconds: 10)
                for (address, device) in [("198.18.1.1", "upa0"), ("198.18.2.1", "upb0")] {
                    try await ShellCommand.run(
                        [
                            "ip", "-n", topology.gw, "mptcp", "endpoint", "add", address, "dev", device, "subflow",
                            "fullmesh",
                        ],
                        seconds: 10
                    )
                }
                gatewayConfig = ForwardConvertNetworkTests.forwarderConfig
            }
            let gateway = try harness.startRelay("gateway", in: topology.gw, config: gatewayConfig)
            try await gateway.waitListening(on: 8000, in: topology, namespace: topology.gw)
            return setup
        }

        /// `count` connections of 1 MiB each way (long enough for every connection's joins to come up).
        static func transfers(
            _ harness: RelayTestHarness,
            _ topology: Topology,
            count: Int,
            name: String
        ) async throws -> (clients: LoadPeerReport, served: LoadPeerReport) {
            let server = try await LoadPeer.serve(
                harness,
                "198.19.0.2:5201",
                in: topology.dst,
                name: "serve-\(name)",
                arguments: ["--count", "\(count)", "--timeout", "60", "--seconds", "120"]
            )
            let clients = try LoadPeer.start(
                harness,
                "many",
                [
                    "--connect", "198.18.0.1:8000", "--count", "\(count)", "--upload", "1048576", "--download",
                    "1048576", "--timeout", "60", "--seconds", "110",
                ],
                in: topology.cli,
                name: name
            )
            let report = try await LoadPeer.report(clients, seconds: 120)
            let served = try await LoadPeer.report(server, seconds: 30)
            return (report, served)
        }

        /// Per connection on the instance in `namespace` (its `/connections`): the local addresses of its subflows.
        static func subflowLocals(in namespace: String) async throws -> [[String]] {
            let body = try await ObservabilityNetworkTests.get("/connections", in: namespace).body
            let document = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
            let connections = document?["connections"] as? [[String: Any]] ?? []
            return connections.map { connection in
                (connection["subflows"] as? [[String: Any]] ?? []).compactMap { subflow in
                    (subflow["local"] as? String).map { local in
                        String(local[..<(local.lastIndex(of: ":") ?? local.endIndex)])
                    }
                }
            }
        }

        /// An MPTCP counter (`MPTcpExt` + `name`) of `namespace`.
        static func counter(_ name: String, in namespace: String) async throws -> Int {
            try await HostilePeerNetworkTests.counter("MPTcpExt" + name, in: namespace)
        }
    }
}
