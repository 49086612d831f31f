import Foundation
import Testing

extension NetworkTestSuites {

    /// RFC 8803 section 6.2.8: a converter whose connect to the destination was ended by an ICMP error
    /// answers Destination Unreachable (97) with that ICMP code in the Error TLV's Value.
    @Suite(
        "converter: Destination Unreachable echoes the ICMP code",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(2))
    )
    struct DestinationUnreachableNetworkTests {
        /// A Convert request (no cookie) for 198.19.0.2:PORT sent from gw to the converter; prints the answer
        /// in hex. The bytes are written out from the RFC's figures.
        static let client = """
            import socket, sys
            port = int(sys.argv[1])
            request = bytes([0x01, 0x06, 0x22, 0x63, 0x0A, 0x05, port >> 8, port & 0xFF]
                            + [0] * 10 + [0xFF, 0xFF, 198, 19, 0, 2])
            sock = socket.create_connection(("198.18.1.2", 8443), timeout=10)
            sock.sendall(request)
            answer = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
            print(answer.hex())
            """

        @Test(
            "an ICMP host unreachable (code 1) and an administratively prohibited (code 13) come back in the answer",
            arguments: [(5999, "host-unreachable", "01"), (5998, "admin-prohibited", "0d")]
        )
        func icmpCodeEchoed(port: Int, icmpType: String, code: String) async throws {
            try await RelayTestHarness.run(tag: "du") { harness, topology in
                // dst answers SYNs to this port with the ICMP error instead of a SYN-ACK or a reset.
                try await ShellCommand.bash(
                    """
                    ip netns exec "$1" nft -f - <<EOF
                    table inet refuse {
                        chain input {
                            type filter hook input priority 0; policy accept;
                            tcp dport $2 reject with icmp type $3
                        }
                    }
                    EOF
                    """,
                    [topology.dst, String(port), icmpType],
                    seconds: 10
                )
                let converter = try harness.startRelay(
                    "converter",
                    in: topology.srv,
                    config: PathManagerNetworkTests.converterConfig
                )
                try await converter.waitListening(on: 8443, in: topology, namespace: topology.srv)
                let answer = try await ShellCommand.run(
                    ["ip", "netns", "exec", topology.gw, "python3", "-c", Self.client, String(port)],
                    seconds: 30
                ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                // Version 1, Total Length 2 words, Magic Number; Error TLV, 1 word, code 97, Value: the ICMP code.
                #expect(answer == "01022263" + "1e0161" + code, "answer \(answer)\n\(converter.log.suffix(1500))")
            }
        }
    }
}
