import Foundation
import Testing

extension NetworkTestSuites {

    /// A converter only its own clients can use: the gateway's cookie gets a transfer through, and
    /// requests without a cookie, with a wrong key, from an unknown client, with a stale timestamp or
    /// replayed byte for byte are refused with the right RFC 8803 code and counted, while that transfer
    /// goes on untouched; a client at its connection limit is refused beyond it and served below it.
    /// The refused requests come from `scripts/lib/convert-client.py`, a client written apart from the
    /// relay's codec, which also shows that the cookie construction of docs/PROTOCOL.md interoperates.
    @Suite(
        "authenticated clients through forward and convert",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(3))
    )
    struct AuthenticationNetworkTests {
        static let homeKey = "q4tHj+4vs0Jme0cjNkHnDuXMH6qSuI76Fhq8Gl9wWfs="
        static let limitedKey = "N2h0YXNzLW5vdC1hLXJlYWwta2V5LWp1c3QtdGVzdHM="

        @Test("the right key is relayed; no cookie, wrong key, unknown, stale and replayed are refused and counted")
        func onlyOwnClients() async throws {
            try await RelayTestHarness.run(tag: "au", rate: "50mbit") { harness, topology in
                // Both relays without root, as the issue asks: nobody with only the capabilities they need.
                let converter = try harness.startRelay(
                    "converter",
                    in: topology.srv,
                    config: Self.converterConfig,
                    wrapper: NetworkTestEnvironment.unprivileged
                )
                let gateway = try harness.startRelay(
                    "gateway",
                    in: topology.gw,
                    config: Self.gatewayConfig,
                    wrapper: NetworkTestEnvironment.unprivileged
                )
                try await converter.waitListening(on: 8443, in: topology, namespace: topology.srv)
                try await gateway.waitListening(on: 8000, in: topology, namespace: topology.gw)

                // The good transfer, through the gateway with its cookie, runs while the bad requests come.
                let bytes = 24 * 1024 * 1024
                let server = try await harness.serve("198.19.0.2:5201", bytes: bytes, in: topology.dst, name: "serve")
                let client = try harness.send("198.18.0.1:8000", bytes: bytes, in: topology.cli, name: "good")
                // A destination that holds what it accepts, for the connection limit below.
                _ = try await harness.serve("198.19.0.2:5202", bytes: 1, in: topology.dst, name: "hold", count: 3)

                let replay = harness.scratch.appendingPathComponent("request.bin").path
                let cases: [(name: String, arguments: [String], code: Int, reason: String)] = [
                    ("no cookie", [], 32, "missing_cookie"),
                    ("wrong key", ["--client", "home", "--key", Self.limitedKey], 32, "bad_key"),
                    ("unknown client", ["--client", "stranger", "--key", Self.homeKey], 32, "unknown_client"),
                    ("stale", ["--client", "home", "--key", Self.homeKey, "--time-offset", "-120"], 32, "stale"),
                ]
                for entry in cases {
                    let answer = try await Self.request(topology, harness, entry.arguments)
                    #expect(answer == "error \(entry.code)", "\(entry.name): \(answer)")
                }
                // A good request (its destination refuses: 96), then the very same bytes again.
                let first = try await Self.request(
                    topology,
                    harness,
                    ["--client", "home", "--key", Self.homeKey, "--save", replay],
                    destination: "198.19.0.2:9"
                )
                #expect(first == "error 96", "a good cookie gets past authentication: \(first)")
                let again = try await Self.request(topology, harness, ["--replay", replay])
                #expect(again == "error 32", "the replayed request: \(again)")

                // "limited" may hold one connection: a second is refused (64), and served once the first ends.
                let limited = ["--client", "limited", "--key", Self.limitedKey]
                let holder = try harness.start(
                    Self.command(topology, limited + ["--hold", "4"], destination: "198.19.0.2:5202"),
                    name: "holder"
                )
                try await Task.sleep(nanoseconds: 1_000_000_000)
                let beyond = try await Self.request(topology, harness, limited, destination: "198.19.0.2:5202")
                #expect(beyond == "error 64", "beyond max_connections: \(beyond)")
                _ = try await holder.expectSuccess(seconds: 15)
                #expect(holder.stdout.contains("\"success\""), "the first limited connection: \(holder.stdout)")
                try await Task.sleep(nanoseconds: 500_000_000)
                let below = try await Self.request(topology, harness, limited, destination: "198.19.0.2:5202")
                #expect(below == "success", "below max_connections again: \(below)")

                let sent = try HashPeer.report(try await client.expectSuccess(seconds: 60).stdout, from: "good")
                let served = try HashPeer.report(try await server.expectSuccess(seconds: 30).stdout, from: "serve")
                RelayExpectations.intact(client: sent, server: served, bytes: bytes, "beside the refused requests")

                let metrics = try await ShellCommand.run(
                    ["ip", "netns", "exec", topology.srv, "curl", "-sf", "http://127.0.0.1:9090/metrics"],
                    seconds: 10
                ).stdout
                for reason in [
                    "missing_cookie", "bad_key", "unknown_client", "stale", "replayed", "too_many_connections",
                ] {
                    #expect(
                        metrics.contains(
                            "mptcp_relay_auth_failures_total{listener=\"converter\",reason=\"\(reason)\"} 1"
                        ),
                        "\(reason) not counted once:\n\(metrics.split(separator: "\n").filter { $0.contains("auth_") })"
                    )
                }
                #expect(!converter.log.contains(Self.homeKey) && !converter.log.contains(Self.limitedKey))
                #expect(converter.log.contains("running without root"), "the converter ran as root")
                #expect(gateway.log.contains("running without root"), "the gateway ran as root")
                try await converter.expectLogLine(
                    containing: ["client over its limit", "client=limited", "reason=too_many_connections"],
                    "no limit warning:\n\(converter.log.suffix(2000))"
                )
                try await converter.expectLogLine(
                    containing: ["result=unauthorized", "reason=unauthorized (replayed)"],
                    "no close line for the replay:\n\(converter.log.suffix(2000))"
                )
            }
        }

        /// The command that runs convert-client.py in gw towards the converter.
        static func command(_ topology: Topology, _ arguments: [String], destination: String) -> [String] {
            [
                "ip", "netns", "exec", topology.gw, "python3",
                NetworkTestEnvironment.packageRoot.appendingPathComponent("scripts/lib/convert-client.py").path,
                "--connect", "198.18.1.2:8443", "--destination", destination,
            ] + arguments
        }

        /// One request from gw; its answer as "success", "error CODE" or "closed".
        static func request(
            _ topology: Topology,
            _ harness: RelayTestHarness,
            _ arguments: [String],
            destination: String = "198.19.0.2:5201"
        ) async throws -> String {
            let result = try await ShellCommand.run(command(topology, arguments, destination: destination), seconds: 20)
            guard let line = result.stdout.split(separator: "\n").last,
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let answer = object["answer"] as? String
            else { return "no answer: \(result.stdout) \(result.stderr)" }
            if let code = object["code"] as? Int { return "\(answer) \(code)" }
            return answer
        }

        static let converterConfig = """
            [[listener]]
            name = "converter"
            role = "convert"
            listen = "0.0.0.0:8443"
            allow = ["198.19.0.0/24"]

            [[client]]
            name = "home"
            key = "\(homeKey)"

            [[client]]
            name = "limited"
            key = "\(limitedKey)"
            max_connections = 1
            """

        static let gatewayConfig = """
            [[listener]]
            name = "lan"
            role = "forward"
            listen = "198.18.0.1:8000"
            upstream = "198.18.1.2:8443"
            destination = "198.19.0.2:5201"
            client = "home"
            key = "\(homeKey)"
            """
    }
}
