import Foundation

/// `mptcp-relay status`: the `/connections` document as a terminal table, like `ss -M` per relay, with
/// path names.
public enum StatusTable {
    /// The table for `document`.
    public static func render(_ document: ConnectionsDocument) -> String {
        var lines: [String] = []
        if !document.paths.isEmpty {
            let paths = document.paths.map { path in
                var text = "\(path.name) \(path.up ? "up" : "DOWN") (\(path.pathClass))"
                if path.unreachable == true { text += " UNREACHABLE (probes unanswered)" }
                if let degraded = path.degraded, path.up {
                    text += degraded ? " DEGRADED" : " healthy"
                    if let loss = path.lossRatio, let rtt = path.rttMilliseconds, rtt > 0 {
                        text += String(format: " (loss %.1f%%, rtt %.0fms)", loss * 100, rtt)
                    }
                }
                if let quota = path.quotaBytes, let used = path.quotaUsedBytes {
                    text += " quota \(bytes(used)) of \(bytes(quota))\(used >= quota ? " USED UP" : "")"
                }
                return text
            }
            lines.append("paths: " + paths.joined(separator: ", "))
        }
        lines.append("\(document.connections.count) connection(s)")
        guard !document.connections.isEmpty else { return lines.joined(separator: "\n") + "\n" }
        var rows: [[String]] = [["ID", "LISTENER", "CLIENT", "DESTINATION", "AGE", "UP", "DOWN", "POLICY", "STATE"]]
        var subflowRows: [Int: [[String]]] = [:]
        for connection in document.connections {
            rows.append([
                connection.id, connection.listener, connection.client ?? "-", connection.destination ?? "-",
                seconds(connection.ageSeconds), bytes(connection.bytesUp), bytes(connection.bytesDown),
                connection.policy ?? "-", connection.phase + (connection.transport.map { "/\($0)" } ?? ""),
            ])
            subflowRows[rows.count - 1] = connection.subflows.map { subflow in
                [
                    "  └ " + (subflow.path ?? "-"), subflow.local, "→ " + subflow.remote,
                    String(format: "rtt %.1fms", subflow.rttMilliseconds), "sent " + bytes(subflow.bytesSent),
                    "recv " + bytes(subflow.bytesReceived), subflow.backup == true ? "backup" : "",
                ]
            }
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for (index, row) in rows.enumerated() {
            lines.append(
                zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
            )
            for subflow in subflowRows[index] ?? [] {
                lines.append(subflow.filter { !$0.isEmpty }.joined(separator: "  "))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func bytes(_ count: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func seconds(_ value: Double) -> String {
        value < 60 ? String(format: "%.1fs", value) : String(format: "%dm%02ds", Int(value) / 60, Int(value) % 60)
    }
}
