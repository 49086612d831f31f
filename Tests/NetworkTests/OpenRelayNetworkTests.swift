import Foundation
import Testing

extension NetworkTestSuites {

    /// No open relay: through forward (gw) → MPTCP → convert (srv) with `allow = ["0.0.0.0/0", "::/0"]`,
    /// requests for the converter's loopback (a malformed request, RFC 8803 section 6.2.5), link-local
    /// metadata, private and own addresses (Not Authorized) are refused and counted, and no SYN leaves srv
    /// towards them.
    @Suite(
        "no open relay through forward and convert",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(3))
    )
    struct OpenRelayNetworkTests {
        /// The port every destination below is asked for; the SYN counter in srv matches only it.
        static let port = 7777

        /// A forward listener on gw per destination: (listener, gw port, destination as configured, as
        /// the relays log it, the answer's code, the converter's close reason).
        static let refused:
            [(listener: String, port: Int, destination: String, logged: String, code: String, closed: String)] = [
                (
                    "loopback4", 8001, "127.0.0.1:\(port)", "127.0.0.1:\(port)", "malformed_message",
                    "bad_request (malformed_message)"
                ),
                (
                    "loopback6", 8002, "[::1]:\(port)", "[::1]:\(port)", "malformed_message",
                    "bad_request (malformed_message)"
                ),
                (
                    "metadata", 8003, "169.254.169.254:\(port)", "169.254.169.254:\(port)", "not_authorized",
                    "destination_refused (special)"
                ),
                (
                    "mapped", 8004, "[::ffff:127.0.0.1]:\(port)", "127.0.0.1:\(port)", "malformed_message",
                    "bad_request (malformed_message)"
                ),
                (
                    "private", 8005, "10.1.2.3:\(port)", "10.1.2.3:\(port)", "not_authorized",
                    "destination_refused (private)"
                ),
                (
                    "own", 8006, "198.19.0.1:\(port)", "198.19.0.1:\(port)", "not_authorized",
                    "destination_refused (own_address)"
                ),
            ]
        /// An ordinary destination (dst, nothing listening): the converter does dial it, which shows
        /// that the SYN counter counts.
        static let control = (listener: "control", port: 8007, destination: "198.19.0.2:\(port)")

        @Test(
            "Loopback, ::1 and mapped loopback: Malformed; metadata, 10.x and own address: Not Authorized; counted, no SYN"
        )
        func specialDestinationsRefusedUnderCatchAll() async throws {
            try await RelayTestHarness.run(tag: "or") { harness, topology in
                // srv gets a default route (towards dst, which drops) so that a SYN to 10.x or
                // 169.254.169.254 would really leave srv; the counter sees every SYN srv sends to the port.
                try await ShellCommand.bash(
                    """
                    set -euo pipefail
                    ip -n "$1" route add default via 198.19.0.2 dev lan0
                    ip netns exec "$1" nft -f - <<EOF
                    table inet openrelay {
                        counter syns {}
                        chain out {
                            type filter hook output priority 0;
                            tcp dport \(Self.port) tcp flags & (syn | ack) == syn counter name syns
                        }
                    }
                    EOF
                    """,
                    [topology.srv],
                    seconds: 15
                )
                // Both relays without root: nobody with only CAP_NET_ADMIN and CAP_NET_BIND_SERVICE.
                let converter = try harness.startRelay(
                    "converter",
                    in: topology.srv,
                    config: Self.converterConfig,
                    wrapper: NetworkTestEnvironment.unprivileged
                )
                let forwarder = try harness.startRelay(
                    "forwarder",
                    in: topology.gw,
                    config: Self.forwarderConfig,
                    wrapper: NetworkTestEnvironment.unprivileged
                )
                try await converter.waitListening(on: 8443, in: topology, namespace: topology.srv)
                try await forwarder.waitListening(on: Self.control.port, in: topology, namespace: topology.gw)

                for entry in Self.refused {
                    let client = try harness.send(
                        "198.18.0.1:\(entry.port)",
                        bytes: 4096,
                        in: topology.cli,
                        name: "send-\(entry.listener)"
                    )
                    let status = try await client.wait(seconds: 45)
                    #expect(
                        status != nil && status != 0,
                        "\(entry.destination) was not refused (status \(status as Any))"
                    )
                    #expect(
                        client.stderr.contains("ConnectionResetError") || client.stderr.contains("Connection reset"),
                        "the client of \(entry.destination) did not see a reset:\n\(client.stderr)"
                    )
                    try await forwarder.expectLogLine(
                        containing: [
                            "listener=\(entry.listener) ", "destination=\(entry.logged) ",
                            "reason=converter_error (\(entry.code))",
                        ],
                        "forwarder did not get \(entry.code) for \(entry.destination):\n\(forwarder.log)"
                    )
                    try await converter.expectLogLine(
                        containing: ["destination=\(entry.logged) ", "reason=\(entry.closed)"],
                        "converter did not refuse \(entry.destination) as \(entry.closed):\n\(converter.log)"
                    )
                }

                // Counted on both sides, by reason and by code.
                let metrics = try await Self.metrics(in: topology.srv) { text in
                    Self.denials(text, "special") == 1
                }
                #expect(Self.denials(metrics, "special") == 1, "\(metrics)")
                #expect(Self.denials(metrics, "private") == 1)
                #expect(Self.denials(metrics, "own_address") == 1)
                #expect(Self.denials(metrics, "not_allowed") == 0)
                for (code, count) in [("not_authorized", 3), ("malformed_message", 3)] {
                    #expect(
                        Self.sample(
                            metrics,
                            "mptcp_relay_convert_errors_total{listener=\"converter\",code=\"\(code)\",direction=\"sent\"}"
                        ) == Double(count),
                        "\(code) sent"
                    )
                }
                let forwarded = try await Self.metrics(in: topology.gw) { _ in true }
                for entry in Self.refused {
                    #expect(
                        Self.sample(
                            forwarded,
                            "mptcp_relay_convert_errors_total{listener=\"\(entry.listener)\",code=\"\(entry.code)\",direction=\"received\"}"
                        ) == 1,
                        "forwarder did not count \(entry.code) on \(entry.listener)"
                    )
                }

                // No SYN left srv towards any of them.
                #expect(try await Self.synCount(in: topology.srv) == 0, "the converter dialed a refused destination")

                // The control: an ordinary destination is dialed, and its SYN is counted.
                let control = try harness.send(
                    "198.18.0.1:\(Self.control.port)",
                    bytes: 4096,
                    in: topology.cli,
                    name: "send-control"
                )
                _ = try await control.wait(seconds: 45)
                try await converter.expectLogLine(
                    containing: ["destination=\(Self.control.destination) ", "role=convert"],
                    "converter did not close the control connection:\n\(converter.log)"
                )
                #expect(try await Self.synCount(in: topology.srv) >= 1, "the SYN counter did not count the control")
            }
        }

        /// The `syns` counter's packets in `namespace`.
        static func synCount(in namespace: String) async throws -> Int {
            let listing = try await ShellCommand.run(
                ["ip", "netns", "exec", namespace, "nft", "list", "counter", "inet", "openrelay", "syns"],
                seconds: 10
            ).stdout
            let words = listing.split(whereSeparator: \.isWhitespace)
            guard let index = words.firstIndex(of: "packets"), index + 1 < words.count,
                let packets = Int(words[index + 1])
            else {
                throw ShellCommandError(
                    command: ["nft", "list", "counter"],
                    reason: "no packet count",
                    output: listing
                )
            }
            return packets
        }

        /// Polls the metrics port (127.0.0.1:9090) in `namespace`, bounded, until `condition` holds.
        static func metrics(in namespace: String, until condition: (String) -> Bool) async throws -> String {
            var last = ""
            for _ in 0..<50 {
                last = try await ObservabilityNetworkTests.get("/metrics", in: namespace).body
                if condition(last) { return last }
                try await Task.sleep(nanoseconds: 200_000_000)
            }
            return last
        }

        static func sample(_ text: String, _ series: String) -> Double? {
            ObservabilityNetworkTests.sample(text, series)
        }

        /// The converter's ACL denials for `reason`.
        static func denials(_ text: String, _ reason: String) -> Double? {
            sample(text, "mptcp_relay_acl_denials_total{listener=\"converter\",reason=\"\(reason)\"}")
        }

        static let forwarderConfig =
            """
            [runtime]
            workers = 2

            [metrics]
            listen = "127.0.0.1:9090"

            """
            + (refused.map { ($0.listener, $0.port, $0.destination) } + [
                (control.listener, control.port, control.destination)
            ]).map { listener, port, destination in
                """

                [[listener]]
                name = "\(listener)"
                role = "forward"
                listen = "198.18.0.1:\(port)"
                upstream = "198.18.1.2:8443"
                destination = "\(destination)"

                """
            }.joined()

        static let converterConfig = """
            [runtime]
            workers = 2

            [metrics]
            listen = "127.0.0.1:9090"

            [[listener]]
            name = "converter"
            role = "convert"
            authentication = "none"
            listen = "0.0.0.0:8443"
            allow = ["0.0.0.0/0", "::/0"]

            """
    }
}
