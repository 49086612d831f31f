import Foundation

/// One MPTCP subflow of gw towards the converter, as `ss -tni` shows it.
struct SubflowRow: Equatable {
    /// Local address (without the `%device` suffix).
    var local: String
    /// Remote address.
    var remote: String
    /// The `tcp-ulp-mptcp flags:` letters: `b` is a locally flagged backup subflow.
    var flags: String
    /// The connection token that every subflow of one MPTCP connection shares.
    var connection: String

    var isBackup: Bool { flags.contains("b") }
}

/// The third uplink, link changes and subflow views for the path-manager suite.
extension Topology {
    /// `ip link set DEVICE up|down` in `namespace`.
    func setLink(_ namespace: String, _ device: String, up: Bool) async throws {
        try await ShellCommand.run(["ip", "-n", namespace, "link", "set", device, up ? "up" : "down"], seconds: 10)
    }

    /// The value of `net.mptcp.path_manager` in `namespace`.
    func pathManagerSetting(_ namespace: String) async throws -> String {
        let result = try await ShellCommand.run(
            ["ip", "netns", "exec", namespace, "sysctl", "-n", "net.mptcp.path_manager"],
            seconds: 10
        )
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The MPTCP subflows in `namespace` whose remote port is `port`, grouped by connection.
    func subflows(in namespace: String, remotePort port: Int) async throws -> [[SubflowRow]] {
        let result = try await ShellCommand.run(
            ["ip", "netns", "exec", namespace, "ss", "-tniH", "state", "established", "( dport = :\(port) )"],
            seconds: 10
        )
        var rows: [SubflowRow] = []
        var local: String?
        var remote = ""
        for line in result.stdout.split(separator: "\n") {
            if !line.hasPrefix(" ") && !line.hasPrefix("\t") {
                // "0 0 198.18.2.1%upb0:47595 198.18.1.2:8443"
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                local = fields.count >= 4 ? Self.address(of: String(fields[2])) : nil
                remote = fields.count >= 4 ? Self.address(of: String(fields[3])) : ""
                continue
            }
            guard let address = local, let flags = Self.field("flags:", in: line),
                let token = Self.field("token:", in: line)
            else { continue }
            // token:63bfa5b3(id:0)/4ccc2bbf(id:2): the part after the slash names the connection.
            let connection = token.split(separator: "/").last.map { String($0.prefix { $0 != "(" }) } ?? token
            rows.append(SubflowRow(local: address, remote: remote, flags: flags, connection: connection))
            local = nil
        }
        let grouped = Dictionary(grouping: rows, by: \.connection)
        return grouped.values.map { $0.sorted { $0.local < $1.local } }.sorted { $0.count < $1.count }
    }

    /// Polls `subflows` (at most `seconds`) until `condition` holds; returns the last view.
    func waitForSubflows(
        in namespace: String,
        remotePort port: Int,
        seconds: Double = 10,
        until condition: ([[SubflowRow]]) -> Bool
    ) async throws -> [[SubflowRow]] {
        let deadline = Date().addingTimeInterval(seconds)
        var view: [[SubflowRow]] = []
        repeat {
            view = try await subflows(in: namespace, remotePort: port)
            if condition(view) { return view }
            try await Task.sleep(nanoseconds: 200_000_000)
        } while Date() < deadline
        return view
    }

    private static func address(of text: String) -> String {
        // "198.18.2.1%upb0:47595" or "[2001:db8::1]:47595"
        let host = String(text[..<(text.lastIndex(of: ":") ?? text.endIndex)])
        return String(host.prefix { $0 != "%" }).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
    }

    private static func field(_ name: String, in line: Substring) -> String? {
        guard let range = line.range(of: name) else { return nil }
        return String(line[range.upperBound...].prefix { !$0.isWhitespace })
    }
}

/// Config tables the path-manager suites add to a relay's configuration.
enum GatewayTables {
    /// `[metrics]` on 127.0.0.1:9090, where the suites scrape.
    static let metrics = "\n[metrics]\nlisten = \"127.0.0.1:9090\"\n"

    /// One `[[path]]` per uplink name (`a`, `b`, `c` on `upa0`, `upb0`, `upc0`), each with its `extra` lines.
    static func paths(_ names: [String], extra: [String: String] = [:]) -> String {
        names.map { name in
            "\n[[path]]\nname = \"\(name)\"\ninterface = \"up\(name)0\"\n" + (extra[name].map { $0 + "\n" } ?? "")
        }.joined()
    }
}
