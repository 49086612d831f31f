import Foundation
import Testing

extension NetworkTestSuites {

    /// The metrics side port in the reference topology: a real Prometheus scrapes it during a transfer.
    @Suite(
        "observability: /metrics, /connections and status",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(3))
    )
    struct ObservabilityNetworkTests {
        static let bytes = 96 * 1024 * 1024

        @Test("Prometheus sees bytes on both paths; /connections and status show the subflows; counters are exact")
        func scrapedDuringATransfer() async throws {
            try await RelayTestHarness.run(tag: "ob", rate: "50mbit") { harness, topology in
                let converter = try harness.startRelay("converter", in: topology.srv, config: Self.converterConfig)
                let gateway = try harness.startRelay("gateway", in: topology.gw, config: Self.gatewayConfig)
                try await converter.waitListening(on: 8443, in: topology, namespace: topology.srv)
                try await gateway.waitListening(on: 8000, in: topology, namespace: topology.gw)
                try await gateway.waitListening(on: 9090, in: topology, namespace: topology.gw)
                let prometheus = try await Self.startPrometheus(harness, in: topology.gw)

                #expect(try await Self.get("/healthz", in: topology.gw).status == 0, "healthz answers 200")
                let server = try await harness.serve(
                    "198.19.0.2:5201",
                    bytes: Self.bytes,
                    in: topology.dst,
                    name: "serve"
                )
                let client = try harness.send("198.18.0.1:8000", bytes: Self.bytes, in: topology.cli, name: "bulk")

                // During the transfer: the subflows on the right paths, in JSON and in the status table.
                let status = try await Self.waitForStatus(harness, topology) { json in
                    json.contains("\"path\":\"a\"") && json.contains("\"path\":\"b\"")
                }
                #expect(status.contains("\"local\":\"198.18.1.1:"), "a subflow from uplink A: \(status)")
                #expect(status.contains("\"local\":\"198.18.2.1:"), "a subflow from uplink B: \(status)")
                #expect(status.contains("\"policy\":\"bulk\""), "\(status)")
                let table = try await ShellCommand.run(
                    ["ip", "netns", "exec", topology.gw, harness.binary.path, "status"],
                    seconds: 15
                ).stdout
                #expect(
                    table.contains("└ a  198.18.1.1:") && table.contains("└ b  198.18.2.1:"),
                    "status table:\n\(table)"
                )
                #expect(table.contains("paths: a up (primary), b up (primary)"), "status table:\n\(table)")

                // Prometheus scrapes during the transfer: both paths carry bytes at a non-zero rate.
                let rates = try await Self.waitForQuery(
                    "sum by (path) (rate(mptcp_relay_path_bytes_sent_total[5s]))",
                    in: topology.gw
                ) { result in result.count >= 2 && result.values.allSatisfy { $0 > 100_000 } }
                #expect(Set(rates.keys) == ["a", "b"], "rates by path from Prometheus: \(rates)")
                #expect(rates.values.allSatisfy { $0 > 100_000 }, "rates by path from Prometheus: \(rates)")

                let sent = try HashPeer.report(try await client.expectSuccess(seconds: 90).stdout, from: "bulk")
                let served = try HashPeer.report(try await server.expectSuccess(seconds: 30).stdout, from: "serve")
                RelayExpectations.intact(client: sent, server: served, bytes: Self.bytes, "observed transfer")

                // Exact counters once the connection is closed.
                let metrics = try await Self.waitForMetrics(topology) { text in
                    Self.sample(text, "mptcp_relay_connections_closed_total{listener=\"lan\",result=\"completed\"}")
                        == 1
                }
                #expect(
                    Self.sample(metrics, "mptcp_relay_bytes_total{listener=\"lan\",direction=\"upstream\"}")
                        == Double(Self.bytes)
                )
                #expect(
                    Self.sample(metrics, "mptcp_relay_bytes_total{listener=\"lan\",direction=\"downstream\"}")
                        == Double(Self.bytes)
                )
                #expect(Self.sample(metrics, "mptcp_relay_connections_accepted_total{listener=\"lan\"}") == 1)
                #expect(Self.sample(metrics, "mptcp_relay_connections_active{listener=\"lan\"}") == 0)
                #expect(Self.sample(metrics, "mptcp_relay_connect_duration_seconds_count{listener=\"lan\"}") == 1)
                #expect(Self.sample(metrics, "mptcp_relay_path_up{path=\"a\",class=\"primary\"}") == 1)
                let promtool = try await ShellCommand.bash(
                    "printf '%s' \"$1\" | promtool check metrics",
                    [metrics],
                    seconds: 30
                )
                #expect(promtool.status == 0, "promtool: \(promtool.stdout)\(promtool.stderr)")

                #expect(prometheus.isRunning)
            }
        }

        /// Starts Prometheus in `namespace`, scraping 127.0.0.1:9090 every second; waits until it is ready.
        static func startPrometheus(_ harness: RelayTestHarness, in namespace: String) async throws -> ChildProcess {
            let config = harness.scratch.appendingPathComponent("prometheus.yml")
            try """
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: mptcp-relay
                static_configs:
                  - targets: ["127.0.0.1:9090"]
            """.write(to: config, atomically: true, encoding: .utf8)
            let prometheus = try harness.start(
                [
                    "ip", "netns", "exec", namespace, "prometheus", "--config.file=\(config.path)",
                    "--storage.tsdb.path=\(harness.scratch.appendingPathComponent("tsdb").path)",
                    "--web.listen-address=127.0.0.1:9091",
                ],
                name: "prometheus"
            )
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                if let ready = try? await ShellCommand.run(
                    ["ip", "netns", "exec", namespace, "curl", "-sf", "http://127.0.0.1:9091/-/ready"],
                    seconds: 5
                ), ready.status == 0 {
                    return prometheus
                }
                guard prometheus.isRunning else { break }
                try await Task.sleep(nanoseconds: 200_000_000)
            }
            throw ShellCommandError(
                command: prometheus.command,
                reason: "Prometheus did not become ready",
                output: prometheus.stderr
            )
        }

        /// curl's exit status and body for `path` on the gateway's metrics port.
        static func get(_ path: String, in namespace: String) async throws -> (status: Int32, body: String) {
            let result = try await ShellCommand.run(
                ["ip", "netns", "exec", namespace, "curl", "-sf", "http://127.0.0.1:9090\(path)"],
                seconds: 10
            )
            return (result.status, result.stdout)
        }

        /// Polls `status --json` (bounded) until `condition` holds; returns the last output.
        static func waitForStatus(
            _ harness: RelayTestHarness,
            _ topology: Topology,
            until condition: (String) -> Bool
        ) async throws -> String {
            var last = ""
            for _ in 0..<50 {
                last = try await ShellCommand.run(
                    ["ip", "netns", "exec", topology.gw, harness.binary.path, "status", "--json"],
                    seconds: 10
                ).stdout
                if condition(last) { return last }
                try await Task.sleep(nanoseconds: 200_000_000)
            }
            return last
        }

        /// Polls /metrics (bounded) until `condition` holds; returns the last text.
        static func waitForMetrics(_ topology: Topology, until condition: (String) -> Bool) async throws -> String {
            var last = ""
            for _ in 0..<50 {
                last = try await get("/metrics", in: topology.gw).body
                if condition(last) { return last }
                try await Task.sleep(nanoseconds: 200_000_000)
            }
            return last
        }

        /// The value of the sample whose name and labels are exactly `series`.
        static func sample(_ text: String, _ series: String) -> Double? {
            text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap {
                Double($0.split(separator: " ").last ?? "")
            }
        }

        /// Runs a PromQL query against the test's Prometheus (bounded polling) until `condition` holds on the
        /// result, a value per `path` label.
        static func waitForQuery(
            _ query: String,
            in namespace: String,
            until condition: ([String: Double]) -> Bool
        ) async throws -> [String: Double] {
            var values: [String: Double] = [:]
            for _ in 0..<40 {
                let result = try await ShellCommand.run(
                    [
                        "ip", "netns", "exec", namespace, "curl", "-sf", "--get", "http://127.0.0.1:9091/api/v1/query",
                        "--data-urlencode", "query=\(query)",
                    ],
                    seconds: 10
                )
                values = [:]
                if let json = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
                    let data = json["data"] as? [String: Any], let series = data["result"] as? [[String: Any]]
                {
                    for entry in series {
                        guard let labels = entry["metric"] as? [String: String], let path = labels["path"],
                            let value = entry["value"] as? [Any], value.count == 2, let text = value[1] as? String,
                            let number = Double(text)
                        else { continue }
                        values[path] = number
                    }
                }
                if condition(values) { return values }
                try await Task.sleep(nanoseconds: 500_000_000)
            }
            return values
        }

        static let gatewayConfig = """
            [runtime]
            workers = 2

            [metrics]
            listen = "127.0.0.1:9090"

            [[listener]]
            name = "lan"
            role = "forward"
            listen = "198.18.0.1:8000"
            upstream = "198.18.1.2:8443"
            destination = "198.19.0.2:5201"

            [[path]]
            name = "a"
            interface = "upa0"
            [[path]]
            name = "b"
            interface = "upb0"

            [[policy]]
            name = "bulk"
            paths = ["a", "b"]

            """

        static let converterConfig = PathManagerNetworkTests.converterConfig
    }
}
