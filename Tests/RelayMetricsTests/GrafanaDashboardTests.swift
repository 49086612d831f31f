import ConvertProtocol
import Foundation
import Logging
import PathManager
import RelayCore
import Testing

@testable import RelayMetrics

@Suite("packaging/grafana/mptcp-relay.json")
struct GrafanaDashboardTests {
    /// The package root, from this file's path.
    static let root: String = {
        var components = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        components.removeLast(3)
        return components.joined(separator: "/")
    }()

    @Test(
        "valid JSON whose every query names metrics the relay exports, covering paths, connections, errors, failovers"
    )
    func queriesNameExportedMetrics() async throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.root + "/packaging/grafana/mptcp-relay.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        let expressions = panels.flatMap {
            ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String }
        }
        let pattern = try NSRegularExpression(pattern: "mptcp_relay_[a-z_]+")
        var names: Set<String> = []
        for expression in expressions {
            let range = NSRange(expression.startIndex..., in: expression)
            for match in pattern.matches(in: expression, range: range) {
                names.insert(String(expression[Range(match.range, in: expression)!]))
            }
        }
        let engine = unstartedEngine(workers: 1)
        let board = PathBoard(
            plan: PathPlan(
                mode: .relay,
                paths: [PathDefinition(name: "a", interface: "x", quota: PathQuota(bytes: 1000))],
                policies: [],
                health: PathHealthSettings()
            )
        )
        let exported = String(decoding: await MetricsCollector(engine: engine, board: board).render(), as: UTF8.self)
        for name in names {
            #expect(
                exported.contains("\n\(name){") || exported.contains("\n\(name) "),
                "the dashboard queries \(name), which is not exported"
            )
        }
        for required in [
            "mptcp_relay_path_bytes_sent_total", "mptcp_relay_connections_active", "mptcp_relay_convert_errors_total",
            "mptcp_relay_path_transitions_total", "mptcp_relay_path_backup_promotions_total",
            "mptcp_relay_path_quota_used_bytes", "mptcp_relay_path_quota_remaining_bytes",
            "mptcp_relay_path_degraded", "mptcp_relay_path_loss_ratio",
        ] {
            #expect(names.contains(required), "the dashboard has no panel on \(required)")
        }
    }
}
