import ConvertProtocol
import Foundation
import Logging
import PathManager
import Testing

@testable import RelayCore
@testable import RelayMetrics

@Suite("MetricsCollector: worker counters as Prometheus text")
struct MetricsCollectorTests {
    /// The value of the sample line starting with `series` (name and labels), if present.
    func value(_ text: String, _ series: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap {
            Double($0.split(separator: " ").last ?? "")
        }
    }

    @Test("counters are summed over workers and only grow; connect durations keep exact counts and sum")
    func countersAndHistogram() async {
        let engine = unstartedEngine()
        let statistics = engine.statistics
        let collector = MetricsCollector(engine: engine, board: nil)
        statistics.add(worker: 0, listener: 0, RelayStatistics.Slot.accepted, 3)
        statistics.add(worker: 1, listener: 0, RelayStatistics.Slot.accepted, 4)
        statistics.add(worker: 0, listener: 0, RelayStatistics.Slot.bytesToUpstream, 1000)
        statistics.add(worker: 1, listener: 0, RelayStatistics.Slot.closed(ConnectionResult.noPath.labelIndex))
        // Two connects of 2 ms and 4 ms (bucket le=0.005), one of 30 ms (le=0.05).
        let small = RelayStatistics.connectBucket(nanoseconds: 2_000_000)
        statistics.add(worker: 0, listener: 0, RelayStatistics.Slot.connectBucket(small), 2)
        statistics.add(worker: 0, listener: 0, RelayStatistics.Slot.connectBucketNanoseconds(small), 6_000_000)
        let large = RelayStatistics.connectBucket(nanoseconds: 30_000_000)
        statistics.add(worker: 1, listener: 0, RelayStatistics.Slot.connectBucket(large))
        statistics.add(worker: 1, listener: 0, RelayStatistics.Slot.connectBucketNanoseconds(large), 30_000_000)

        let first = String(decoding: await collector.render(), as: UTF8.self)
        #expect(value(first, "mptcp_relay_connections_accepted_total{listener=\"lan\"}") == 7)
        #expect(value(first, "mptcp_relay_bytes_total{listener=\"lan\",direction=\"upstream\"}") == 1000)
        #expect(value(first, "mptcp_relay_connections_closed_total{listener=\"lan\",result=\"no_path\"}") == 1)
        #expect(value(first, "mptcp_relay_connect_duration_seconds_count{listener=\"lan\"}") == 3)
        #expect(value(first, "mptcp_relay_connect_duration_seconds_bucket{listener=\"lan\",le=\"0.005\"}") == 2)
        let sum = value(first, "mptcp_relay_connect_duration_seconds_sum{listener=\"lan\"}") ?? 0
        #expect(abs(sum - 0.036) < 1e-6, "sum \(sum)")

        statistics.add(worker: 1, listener: 0, RelayStatistics.Slot.accepted, 1)
        let second = String(decoding: await collector.render(), as: UTF8.self)
        #expect(value(second, "mptcp_relay_connections_accepted_total{listener=\"lan\"}") == 8)
        #expect(value(second, "mptcp_relay_connect_duration_seconds_count{listener=\"lan\"}") == 3)
    }

    @Test(
        "promtool check metrics accepts the exposition",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool"))
    )
    func promtoolAccepts() async throws {
        let engine = unstartedEngine()
        let board = PathBoard(
            plan: PathPlan(
                mode: .relay,
                paths: [PathDefinition(name: "a", interface: "upa0")],
                policies: []
            )
        )
        let text = await MetricsCollector(engine: engine, board: board).render()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
        process.arguments = ["check", "metrics"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(text))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "promtool: \(said)")
        #expect(String(decoding: text, as: UTF8.self).contains("mptcp_relay_path_up{path=\"a\",class=\"primary\"} 0"))
    }
}
