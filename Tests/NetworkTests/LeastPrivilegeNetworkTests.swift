import Foundation
import Testing

extension NetworkTestSuites {

    /// Both relays without root, through the full chain: the converter started by `setpriv` as nobody with
    /// only CAP_NET_ADMIN and CAP_NET_BIND_SERVICE (it listens on port 443), the gateway started as root
    /// as the path manager of two uplinks with `[runtime] user = "nobody"`, dropping root after start-up.
    @Suite(
        "least privilege: both relays run as nobody with two capabilities",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(3))
    )
    struct LeastPrivilegeNetworkTests {
        static let bytes = 16 * 1024 * 1024
        /// CAP_NET_BIND_SERVICE (bit 10) and CAP_NET_ADMIN (bit 12), as /proc/PID/status prints them.
        static let relayCapabilities: UInt64 = 1 << 10 | 1 << 12
        static let nobody = "65534"

        @Test("an authenticated transfer over both uplinks arrives intact; no thread keeps root or more capabilities")
        func unprivilegedChain() async throws {
            try await RelayTestHarness.run(tag: "lp", rate: "50mbit") { harness, topology in
                let stateDirectory = try await Self.ownerOfStateDirectory()
                defer { Self.restoreOwner(of: stateDirectory) }
                let converter = try harness.startRelay(
                    "converter",
                    in: topology.srv,
                    config: Self.converterConfig,
                    wrapper: NetworkTestEnvironment.unprivileged
                )
                let gateway = try harness.startRelay("gateway", in: topology.gw, config: Self.gatewayConfig)
                try await converter.waitListening(on: 443, in: topology, namespace: topology.srv)
                try await gateway.waitListening(on: 8000, in: topology, namespace: topology.gw)
                #expect(try await topology.pathManagerSetting(topology.gw) == "userspace")

                try await gateway.expectLogLine(
                    containing: [
                        "dropped root privileges", "user=nobody", "uid=65534",
                        "capabilities=cap_net_bind_service,cap_net_admin",
                    ],
                    "no drop line in the gateway's log:\n\(gateway.log)"
                )
                try await converter.expectLogLine(
                    containing: [
                        "running without root", "uid=65534", "capabilities=cap_net_bind_service,cap_net_admin",
                    ],
                    "no identity line in the converter's log:\n\(converter.log)"
                )

                for relay in [converter, gateway] {
                    try await relay.expectLogLine(
                        containing: ["relay started"],
                        "\(relay.name) did not start:\n\(relay.log)"
                    )
                }

                // Who they run as: every thread of both processes is nobody, none has more than the two.
                let converterThreads = try Self.threads(of: converter.child.processIdentifier)
                let gatewayThreads = try Self.threads(of: gateway.child.processIdentifier)
                for (name, threads) in [("converter", converterThreads), ("gateway", gatewayThreads)] {
                    #expect(!threads.isEmpty, "\(name): no threads read")
                    for thread in threads {
                        #expect(thread.uids == [Self.nobody], "\(name) \(thread.name): Uid \(thread.uids)")
                        #expect(thread.gids == [Self.nobody], "\(name) \(thread.name): Gid \(thread.gids)")
                        #expect(thread.groups.isEmpty, "\(name) \(thread.name): Groups \(thread.groups)")
                        #expect(
                            thread.permitted & ~Self.relayCapabilities == 0,
                            "\(name) \(thread.name): CapPrm \(String(thread.permitted, radix: 16))"
                        )
                        #expect(
                            thread.effective & ~Self.relayCapabilities == 0,
                            "\(name) \(thread.name): CapEff \(String(thread.effective, radix: 16))"
                        )
                        #expect(thread.ambient & ~Self.relayCapabilities == 0)
                    }
                }
                // The converter (setpriv) has both in every thread; in the gateway, the threads started after the
                // drop (workers and path manager) have both, and the bounding set holds nothing else.
                #expect(converterThreads.allSatisfy { $0.effective == Self.relayCapabilities })
                let working = gatewayThreads.filter { $0.name.hasPrefix("relay-worker") || $0.name == "path-manager" }
                #expect(working.count == 3, "gateway threads: \(gatewayThreads.map(\.name))")
                for thread in working {
                    #expect(
                        thread.effective == Self.relayCapabilities && thread.permitted == Self.relayCapabilities,
                        "gateway \(thread.name): CapEff \(String(thread.effective, radix: 16))"
                    )
                    #expect(thread.bounding == Self.relayCapabilities, "gateway \(thread.name): CapBnd")
                }
                // The chain: cli → forward (nobody, marks its upstream sockets, path manager) → convert
                // (nobody, port 443, checks the client's cookie) → dst.
                let server = try await harness.serve(
                    "198.19.0.2:5201",
                    bytes: Self.bytes,
                    in: topology.dst,
                    name: "serve"
                )
                let upA = try await topology.txBytes(topology.gw, "upa0")
                let upB = try await topology.txBytes(topology.gw, "upb0")
                let client = try harness.send("198.18.0.1:8000", bytes: Self.bytes, in: topology.cli, name: "send")
                let sent = try HashPeer.report(try await client.expectSuccess(seconds: 90).stdout, from: "send")
                let served = try HashPeer.report(try await server.expectSuccess(seconds: 30).stdout, from: "serve")
                RelayExpectations.intact(client: sent, server: served, bytes: Self.bytes, "unprivileged chain")
                RelayExpectations.bothUplinks(
                    upA: try await topology.txBytes(topology.gw, "upa0") - upA,
                    upB: try await topology.txBytes(topology.gw, "upb0") - upB,
                    share: UInt64(Self.bytes / 10)
                )
                try await converter.expectLogLine(
                    containing: ["listener=converter", "transport=mptcp", "result=completed"],
                    "the converter relayed no connection over MPTCP:\n\(converter.log)"
                )

                // At stop the gateway, as nobody, still restores the namespace's path manager and removes its
                // saved setting.
                let stateFile = try await Self.stateFile(of: topology.gw)
                #expect(FileManager.default.fileExists(atPath: stateFile), "no saved setting at \(stateFile)")
                await gateway.stop()
                #expect(try await topology.pathManagerSetting(topology.gw) == "kernel", "setting not restored")
                #expect(gateway.log.contains("restored the namespace's MPTCP path manager"), "\(gateway.log)")
                #expect(!FileManager.default.fileExists(atPath: stateFile), "\(stateFile) left behind")
            }
        }

        /// One thread's ids and capability sets, from /proc/PID/task/TID/status.
        struct ThreadCredentials {
            var name: String
            var uids: Set<String>
            var gids: Set<String>
            var groups: [String]
            var permitted: UInt64
            var effective: UInt64
            var bounding: UInt64
            var ambient: UInt64
        }

        /// Every thread of process `pid`.
        static func threads(of pid: Int32) throws -> [ThreadCredentials] {
            let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
            return try tasks.map { task in
                let status = try String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)
                var fields: [String: [String]] = [:]
                for line in status.split(separator: "\n") {
                    let parts = line.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2 else { continue }
                    fields[String(parts[0])] = parts[1].split(whereSeparator: \.isWhitespace).map(String.init)
                }
                func mask(_ key: String) -> UInt64 { UInt64(fields[key]?.first ?? "", radix: 16) ?? .max }
                return ThreadCredentials(
                    name: fields["Name"]?.joined(separator: " ") ?? task,
                    uids: Set(fields["Uid"] ?? []),
                    gids: Set(fields["Gid"] ?? []),
                    groups: fields["Groups"] ?? [],
                    permitted: mask("CapPrm"),
                    effective: mask("CapEff"),
                    bounding: mask("CapBnd"),
                    ambient: mask("CapAmb")
                )
            }
        }

        /// The path manager's saved setting for `namespace` (named after the namespace's inode).
        static func stateFile(of namespace: String) async throws -> String {
            let result = try await ShellCommand.run(
                ["ip", "netns", "exec", namespace, "stat", "-L", "-c", "%i", "/proc/self/ns/net"],
                seconds: 10
            )
            return
                "/run/mptcp-relay/path-manager.netns-\(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))"
        }

        /// /run/mptcp-relay's owner before the test (the gateway hands the directory to nobody), made first
        /// if missing, so that the test leaves the host as it found it.
        static func ownerOfStateDirectory() async throws -> (uid: UInt32, gid: UInt32) {
            try FileManager.default.createDirectory(atPath: "/run/mptcp-relay", withIntermediateDirectories: true)
            let attributes = try FileManager.default.attributesOfItem(atPath: "/run/mptcp-relay")
            return (
                (attributes[.ownerAccountID] as? NSNumber)?.uint32Value ?? 0,
                (attributes[.groupOwnerAccountID] as? NSNumber)?.uint32Value ?? 0
            )
        }

        static func restoreOwner(of directory: (uid: UInt32, gid: UInt32)) {
            _ = chown("/run/mptcp-relay", directory.uid, directory.gid)
        }

        static let homeKey = "Rlk3dHJ1ZS1sZWFzdC1wcml2aWxlZ2Uta2V5LTMyYnk="

        static let gatewayConfig = """
            [runtime]
            workers = 2
            path_manager = "relay"
            user = "nobody"

            [[listener]]
            name = "lan"
            role = "forward"
            listen = "198.18.0.1:8000"
            upstream = "198.18.1.2:443"
            destination = "198.19.0.2:5201"
            mark = 7
            client = "home"
            key = "\(homeKey)"

            [[path]]
            name = "a"
            interface = "upa0"
            [[path]]
            name = "b"
            interface = "upb0"

            [[policy]]
            name = "bulk"
            match = { destinations = ["0.0.0.0/0"] }
            paths = ["a", "b"]

            """

        static let converterConfig = """
            [runtime]
            workers = 2

            [[listener]]
            name = "converter"
            role = "convert"
            listen = "0.0.0.0:443"
            allow = ["198.19.0.0/24"]

            [[client]]
            name = "home"
            key = "\(homeKey)"

            """
    }
}
