import Foundation
import Testing

extension NetworkTestSuites {

    /// cli --TCP to dst's addresses--> gw [TPROXY rules from packaging/tproxy, transparent relay]
    /// ==MPTCP over two uplinks==> srv [convert] --TCP--> dst, on the reference topology with IPv6.
    ///
    /// Each case installs the rules with the shipped script (nftables or iptables), relays IPv4 and
    /// IPv6 connections to addresses and ports that only dst has, checks the bytes both ways, the
    /// destination that the converter saw, both uplinks, a refused destination (reset), an IPv4
    /// connection carried over IPv6 uplinks, and that `down` leaves the ruleset as it was.
    @Suite(
        "transparent capture with the shipped TPROXY rules",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(3))
    )
    struct TransparentNetworkTests {
        static let payloadBytes = 4 * 1024 * 1024

        /// Relayed destinations: two IPv4 addresses, two ports, two IPv6 addresses; dst serves each.
        static let destinations = [
            "198.19.1.10:5201",
            "198.19.1.10:5202",
            "198.19.2.20:5201",
            "[2001:db8:19:1::10]:5201",
            "[2001:db8:19:2::20]:5202",
        ]
        /// On dst and listening, but outside the converter's `allow`: the LAN host must get a reset.
        static let refusedDestination = "198.19.200.9:5201"
        /// The IPv4 destination dialed while the relay's upstream is the converter's IPv6 address.
        static let overIPv6Destination = "198.19.2.20:5203"
        static let dstAddresses = [
            "198.19.1.10", "198.19.2.20", "198.19.200.9", "2001:db8:19:1::10", "2001:db8:19:2::20",
        ]

        /// Options of the rule scripts: LAN lan0, the relay's mark, the converter's addresses bypassed.
        static let ruleOptions = [
            "--lan", "lan0",
            "--port", "7000",
            "--relay-mark", "1",
            "--bypass", "198.18.1.2,198.18.2.2,2001:db8:18:1::2,2001:db8:18:2::2",
            "--bypass-port", "22",
        ]

        @Test(
            "rules from the shipped script capture LAN TCP for the transparent relay",
            .serialized,
            arguments: TransparentRuleVariant.allCases
        )
        func capturedAndRelayed(variant: TransparentRuleVariant) async throws {
            try await RelayTestHarness.run(tag: variant == .nftables ? "tn" : "ti") { harness, topology in
                try await topology.addIPv6()
                try await topology.addDestinations(Self.dstAddresses)
                try await runScenario(variant: variant, in: topology, harness: harness)
            }
        }

        private func runScenario(
            variant: TransparentRuleVariant,
            in topology: Topology,
            harness: RelayTestHarness
        ) async throws {
            let gw = topology.gw

            // Unrelated state that `down` must leave alone: a table, an iptables rule, policy rules.
            try await ShellCommand.bash(
                """
                ip netns exec "$1" bash -c '
                    set -e
                    nft add table inet unrelated
                    nft add chain inet unrelated input "{ type filter hook input priority 0; policy accept; }"
                    nft add rule inet unrelated input tcp dport 9 accept
                    iptables -w -t filter -A INPUT -p tcp --dport 9 -j ACCEPT
                    ip rule add fwmark 0x7 lookup 200
                    ip -6 rule add fwmark 0x7 lookup 200
                '
                """,
                [gw],
                seconds: 30
            )

            // Install: the state before, after one `up`, after a second `up` (no duplicates).
            let before = try await RulesetSnapshot.take(in: gw)
            try await variant.run("up", options: Self.ruleOptions, in: gw)
            let afterUp = try await RulesetSnapshot.take(in: gw)
            try await variant.run("up", options: Self.ruleOptions, in: gw)
            let afterSecondUp = try await RulesetSnapshot.take(in: gw)
            // Named booleans: a failure then prints only the differing sections, not both snapshots.
            let upChangedSomething = afterUp != before
            let secondUpChangedNothing = afterSecondUp == afterUp
            #expect(upChangedSomething, "`\(variant) up` changed nothing")
            #expect(
                secondUpChangedNothing,
                "a second `up` changed the rules:\n\(afterUp.differences(to: afterSecondUp))"
            )
            let tproxyRule =
                variant == .nftables ? "tproxy ip to 127.0.0.1:7000" : "-j TPROXY --on-port 7000 --on-ip 127.0.0.1"
            let tproxy6Rule = variant == .nftables ? "tproxy ip6 to [::1]:7000" : "-j TPROXY --on-port 7000 --on-ip ::1"
            #expect(afterUp.text.contains(tproxyRule), "no IPv4 TPROXY rule:\n\(afterUp.text)")
            #expect(afterUp.text.contains(tproxy6Rule), "no IPv6 TPROXY rule:\n\(afterUp.text)")
            #expect(afterUp.sections["ip rule"]?.contains("fwmark 0x100/0x100 lookup 100") == true)
            #expect(afterUp.sections["ip -6 rule"]?.contains("fwmark 0x100/0x100 lookup 100") == true)
            let installed = try await variant.run("status", options: [], in: gw, allowFailure: true)
            #expect(installed.status == 0, "status after up: \(installed.status)\n\(installed.stdout)")

            // The converter (both families) and the transparent relay.
            let converter = try harness.startRelay("converter", in: topology.srv, config: Self.converterConfig)
            let gateway = try harness.startRelay("gateway", in: gw, config: Self.gatewayConfig)
            try await converter.waitListening(on: 8443, in: topology, namespace: topology.srv)
            try await gateway.waitListening(on: 7000, in: topology, namespace: gw)

            try await checkRelayedConnections(
                topology: topology,
                harness: harness,
                converter: converter,
                gateway: gateway
            )
            try await checkRefusedDestination(
                topology: topology,
                harness: harness,
                converter: converter,
                gateway: gateway
            )
            try await checkGatewayAddressNotCaptured(topology: topology, harness: harness, gateway: gateway)

            // IPv4 LAN connections over IPv6 uplinks: the same listener address, upstream over IPv6.
            await gateway.stop()
            let gatewayOverIPv6 = try harness.startRelay(
                "gateway-over-ipv6",
                in: gw,
                config: Self.gatewayOverIPv6Config
            )
            try await gatewayOverIPv6.waitListening(on: 7000, in: topology, namespace: gw)
            try await checkIPv4OverIPv6Uplinks(
                topology: topology,
                harness: harness,
                converter: converter,
                gateway: gatewayOverIPv6
            )
            await gatewayOverIPv6.stop()

            // Remove: exactly the state before `up`, the unrelated state included; twice is harmless.
            try await variant.run("down", options: [], in: gw)
            let afterDown = try await RulesetSnapshot.take(in: gw)
            let downRestored = afterDown == before
            #expect(downRestored, "`\(variant) down` did not restore the rules:\n\(before.differences(to: afterDown))")
            try await variant.run("down", options: [], in: gw)
            let afterSecondDown = try await RulesetSnapshot.take(in: gw)
            let secondDownChangedNothing = afterSecondDown == before
            #expect(secondDownChangedNothing, "a second `down` changed:\n\(before.differences(to: afterSecondDown))")
            let removed = try await variant.run("status", options: [], in: gw, allowFailure: true)
            #expect(removed.status == 3, "status after down: \(removed.status)\n\(removed.stdout)")
        }

        /// Several connections at once, to dst's addresses and ports, IPv4 and IPv6: intact both ways,
        /// seen by the converter with the destination dialed, spread over both uplinks.
        private func checkRelayedConnections(
            topology: Topology,
            harness: RelayTestHarness,
            converter: RelayProcess,
            gateway: RelayProcess
        ) async throws {
            let bytes = Self.payloadBytes
            var servers: [ChildProcess] = []
            for (index, endpoint) in Self.destinations.enumerated() {
                servers.append(
                    try await harness.serve(endpoint, bytes: bytes, in: topology.dst, name: "serve-\(index)")
                )
            }

            let upA = try await topology.txBytes(topology.gw, "upa0")
            let upB = try await topology.txBytes(topology.gw, "upb0")

            var clients: [ChildProcess] = []
            for (index, endpoint) in Self.destinations.enumerated() {
                clients.append(try harness.send(endpoint, bytes: bytes, in: topology.cli, name: "send-\(index)"))
            }
            for (index, endpoint) in Self.destinations.enumerated() {
                let sent = try await clients[index].expectSuccess(seconds: 90)
                let served = try await servers[index].expectSuccess(seconds: 30)
                let clientReport = try HashPeer.report(sent.stdout, from: "send \(endpoint)")
                let serverReport = try HashPeer.report(served.stdout, from: "serve \(endpoint)")
                RelayExpectations.intact(client: clientReport, server: serverReport, bytes: bytes, endpoint)
            }

            let upADelta = try await topology.txBytes(topology.gw, "upa0") - upA
            let upBDelta = try await topology.txBytes(topology.gw, "upb0") - upB
            RelayExpectations.bothUplinks(
                upA: upADelta,
                upB: upBDelta,
                share: UInt64(bytes * Self.destinations.count / 10)
            )

            // What the converter saw is what the client dialed, once each, over MPTCP; the gateway's
            // transparent listener of the right family relayed it.
            for endpoint in Self.destinations {
                let listener = endpoint.hasPrefix("[") ? "tproxy6" : "tproxy4"
                try await converter.expectLogLine(
                    containing: ["destination=\(endpoint) ", "result=completed", "role=convert", "transport=mptcp"],
                    "converter has no completed close line for \(endpoint):\n\(converter.log)"
                )
                try await gateway.expectLogLine(
                    containing: ["listener=\(listener) ", "destination=\(endpoint) ", "result=completed"],
                    "gateway has no completed close line of \(listener) for \(endpoint):\n\(gateway.log)"
                )
                let lines = converter.log.split(separator: "\n").filter {
                    $0.contains("destination=\(endpoint) ") && $0.contains("connection closed")
                }
                #expect(lines.count == 1, "converter logged \(lines.count) connections to \(endpoint)")
            }
            #expect(!converter.log.contains("transport=tcp"), "converter saw a plain TCP fallback:\n\(converter.log)")
        }

        /// A destination outside the converter's `allow`: the LAN host gets a reset; dst never sees it.
        private func checkRefusedDestination(
            topology: Topology,
            harness: RelayTestHarness,
            converter: RelayProcess,
            gateway: RelayProcess
        ) async throws {
            let endpoint = Self.refusedDestination
            let server = try await harness.serve(endpoint, bytes: 1024, in: topology.dst, name: "serve-refused")
            let client = try harness.send(endpoint, bytes: Self.payloadBytes, in: topology.cli, name: "send-refused")
            let status = try await client.wait(seconds: 60)
            #expect(
                status != nil && status != 0,
                "a connection to \(endpoint) was not refused (status \(String(describing: status)))"
            )
            #expect(
                client.stderr.contains("ConnectionResetError") || client.stderr.contains("Connection reset"),
                "the client did not see a reset:\n\(client.stderr)"
            )
            try await converter.expectLogLine(
                containing: ["destination=\(endpoint) ", "result=destination_refused"],
                "converter did not refuse \(endpoint):\n\(converter.log)"
            )
            try await gateway.expectLogLine(
                containing: ["listener=tproxy4 ", "destination=\(endpoint) ", "result=converter_error"],
                "gateway did not log the converter's error for \(endpoint):\n\(gateway.log)"
            )
            #expect(
                !server.stdout.contains("{"),
                "dst accepted a connection to the refused destination:\n\(server.stdout)"
            )
            await server.stop()
        }

        /// A connection to the gateway's own LAN address is not captured (the local-address bypass):
        /// it reaches a server in gw directly, and the relay never sees it (it would refuse a loop).
        private func checkGatewayAddressNotCaptured(
            topology: Topology,
            harness: RelayTestHarness,
            gateway: RelayProcess
        ) async throws {
            let endpoint = "198.18.0.1:5301"
            let server = try await harness.serve(endpoint, bytes: 65536, in: topology.gw, name: "serve-gw")
            let client = try harness.send(endpoint, bytes: 65536, in: topology.cli, name: "send-gw")
            try await client.expectSuccess(seconds: 30)
            try await server.expectSuccess(seconds: 30)
            #expect(
                !gateway.log.contains("destination=\(endpoint)"),
                "the relay saw a connection to gw itself:\n\(gateway.log)"
            )
        }

        /// An IPv4 LAN connection whose MPTCP upstream is the converter's IPv6 address: both uplinks
        /// carry IPv6 (the kernel uses the IPv6 endpoint for an IPv6 MPTCP connection).
        private func checkIPv4OverIPv6Uplinks(
            topology: Topology,
            harness: RelayTestHarness,
            converter: RelayProcess,
            gateway: RelayProcess
        ) async throws {
            let bytes = Self.payloadBytes
            let endpoint = Self.overIPv6Destination
            let server = try await harness.serve(endpoint, bytes: bytes, in: topology.dst, name: "serve-v4v6")
            let upA = try await topology.ip6TxBytes(topology.gw, "upa0")
            let upB = try await topology.ip6TxBytes(topology.gw, "upb0")

            let client = try harness.send(endpoint, bytes: bytes, in: topology.cli, name: "send-v4v6")
            let sent = try await client.expectSuccess(seconds: 90)
            let served = try await server.expectSuccess(seconds: 30)
            let clientReport = try HashPeer.report(sent.stdout, from: "send \(endpoint)")
            let serverReport = try HashPeer.report(served.stdout, from: "serve \(endpoint)")
            #expect(
                serverReport.received == bytes && clientReport.received == bytes,
                "short transfer over IPv6 uplinks"
            )
            #expect(serverReport.receivedSHA256 == clientReport.sentSHA256, "upstream data corrupted over IPv6 uplinks")
            #expect(
                clientReport.receivedSHA256 == serverReport.sentSHA256,
                "downstream data corrupted over IPv6 uplinks"
            )

            let upADelta = try await topology.ip6TxBytes(topology.gw, "upa0") - upA
            let upBDelta = try await topology.ip6TxBytes(topology.gw, "upb0") - upB
            RelayExpectations.bothUplinks(upA: upADelta, upB: upBDelta, share: UInt64(bytes / 10), unit: "IPv6 bytes")

            try await converter.expectLogLine(
                containing: [
                    "listener=converter6 ", "destination=\(endpoint) ", "result=completed", "transport=mptcp",
                ],
                "the IPv6 converter listener did not relay \(endpoint):\n\(converter.log)"
            )
            try await gateway.expectLogLine(
                containing: ["listener=tproxy4 ", "destination=\(endpoint) ", "result=completed"],
                "gateway has no completed close line for \(endpoint):\n\(gateway.log)"
            )
        }

        /// The converter accepts both families; `allow` covers the relayed destinations but not
        /// 198.19.200.9 (outside 198.19.0.0/17).
        static let converterConfig = """
            [runtime]
            workers = 2

            [[listener]]
            name = "converter4"
            role = "convert"
            authentication = "none"
            listen = "0.0.0.0:8443"
            allow = ["198.19.0.0/17", "2001:db8:19::/48"]

            [[listener]]
            name = "converter6"
            role = "convert"
            authentication = "none"
            listen = "[::]:8443"
            allow = ["198.19.0.0/17", "2001:db8:19::/48"]

            """

        static let gatewayConfig = """
            [runtime]
            workers = 2

            [[listener]]
            name = "tproxy4"
            role = "transparent"
            listen = "127.0.0.1:7000"
            upstream = "198.18.1.2:8443"
            mark = 1

            [[listener]]
            name = "tproxy6"
            role = "transparent"
            listen = "[::1]:7000"
            upstream = "[2001:db8:18:1::2]:8443"
            mark = 1

            """

        /// IPv4 LAN traffic, IPv6 upstream.
        static let gatewayOverIPv6Config = """
            [runtime]
            workers = 2

            [[listener]]
            name = "tproxy4"
            role = "transparent"
            listen = "127.0.0.1:7000"
            upstream = "[2001:db8:18:1::2]:8443"
            mark = 1

            """
    }
}
