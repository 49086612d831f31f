import Foundation

/// The reference topology of TESTING.md (cli, gw, srv, dst; two uplinks between gw and srv),
/// built by the shipped `scripts/lib/topology.sh` so that tests and demo use the same steps.
struct Topology {
    /// Namespace prefix of this run, so that two runs never collide.
    let prefix: String
    /// The `scripts/lib/topology.sh` that builds and removes it.
    let library: URL

    var cli: String { prefix + "cli" }
    var gw: String { prefix + "gw" }
    var srv: String { prefix + "srv" }
    var dst: String { prefix + "dst" }

    /// Creates the namespaces; `rate` (tc syntax, e.g. "100mbit") limits both uplinks when given.
    static func create(prefix: String, rate: String? = nil, packageRoot: URL) async throws -> Topology {
        let topology = Topology(
            prefix: prefix,
            library: packageRoot.appendingPathComponent("scripts/lib/topology.sh")
        )
        try await topology.call("topo_create", [prefix, rate ?? ""], seconds: 60)
        return topology
    }

    /// Kills what still runs in the namespaces and deletes them; never throws, safe to repeat.
    func destroy() async {
        _ = try? await call("topo_destroy", [prefix], seconds: 30)
    }

    /// Transmitted bytes of interface `device` in namespace `namespace`.
    func txBytes(_ namespace: String, _ device: String) async throws -> UInt64 {
        try await counter("topo_if_tx_bytes", namespace, device)
    }

    /// The kernel's MPTCP counters in gw and srv that are not zero ("gw: MPJoinSynTx=…"), for the message of
    /// a failed integrity check: a checksum error or a reset there says where bytes went wrong.
    func mptcpCounters() async -> String {
        var lines: [String] = []
        for (name, namespace) in [("gw", gw), ("srv", srv)] {
            let output = (try? await ShellCommand.run(["ip", "netns", "exec", namespace, "nstat", "-az"]).stdout) ?? ""
            let counters = output.split(separator: "\n").compactMap { line -> String? in
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count >= 2, fields[0].hasPrefix("MPTcpExt"), fields[1] != "0" else { return nil }
                return "\(fields[0].dropFirst(8))=\(fields[1])"
            }
            lines.append("\(name): " + counters.joined(separator: " "))
        }
        return lines.joined(separator: "; ")
    }

    /// Received bytes of interface `device` in namespace `namespace`.
    func rxBytes(_ namespace: String, _ device: String) async throws -> UInt64 {
        try await counter("topo_if_rx_bytes", namespace, device)
    }

    /// Waits (at most `seconds`) until something listens on TCP `port` in `namespace`.
    func waitListening(_ namespace: String, port: Int, seconds: Int = 10) async throws {
        try await call("topo_wait_listen", [namespace, String(port), String(seconds)], seconds: Double(seconds) + 5)
    }

    /// Calls one function of the library with its arguments.
    @discardableResult
    func call(_ function: String, _ arguments: [String], seconds: Double) async throws -> ShellResult {
        try await ShellCommand.bash(
            "set -euo pipefail; source \"$1\"; shift; \"$@\"",
            [library.path, function] + arguments,
            seconds: seconds
        )
    }

    private func counter(_ function: String, _ namespace: String, _ device: String) async throws -> UInt64 {
        let result = try await call(function, [namespace, device], seconds: 10)
        let text = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let value = UInt64(text) else {
            throw ShellCommandError(command: [function, namespace, device], reason: "not a counter", output: text)
        }
        return value
    }
}
