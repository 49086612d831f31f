import Foundation

/// The reference topology's IPv6 half and dst's extra addresses (`scripts/lib/topology.sh`).
extension Topology {
    /// IPv6 on every link, per-uplink IPv6 tables and a v6 MPTCP subflow endpoint in gw.
    func addIPv6() async throws {
        try await call("topo_add_ipv6", [prefix], seconds: 30)
    }

    /// Host addresses on dst's loopback (198.19.0.0/16, 2001:db8:19::/48), routed from srv only.
    func addDestinations(_ addresses: [String]) async throws {
        try await call("topo_add_destinations", [prefix] + addresses, seconds: 30)
    }

    /// IPv6 octets sent on `device` in `namespace` (its Ip6OutOctets).
    func ip6TxBytes(_ namespace: String, _ device: String) async throws -> UInt64 {
        let result = try await call("topo_if_ip6_tx_bytes", [namespace, device], seconds: 10)
        let text = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let value = UInt64(text) else {
            throw ShellCommandError(
                command: ["topo_if_ip6_tx_bytes", namespace, device],
                reason: "not a counter",
                output: text
            )
        }
        return value
    }
}

/// One of the shipped TPROXY rule scripts, `packaging/tproxy/{nftables,iptables}.sh`, run in a namespace.
enum TransparentRuleVariant: String, CaseIterable, Sendable, CustomStringConvertible {
    case nftables
    case iptables

    var description: String { rawValue }

    var script: URL {
        NetworkTestEnvironment.packageRoot.appendingPathComponent("packaging/tproxy/\(rawValue).sh")
    }

    /// Runs `script OPTIONS COMMAND` in `namespace`; throws on a non-zero status unless `allowFailure`.
    @discardableResult
    func run(
        _ command: String,
        options: [String],
        in namespace: String,
        allowFailure: Bool = false
    ) async throws
        -> ShellResult
    {
        let arguments = ["ip", "netns", "exec", namespace, script.path] + options + [command]
        guard allowFailure else { return try await ShellCommand.run(arguments, seconds: 60) }
        // The status of a failing command, without throwing: through bash, which reports it.
        let result = try await ShellCommand.bash(
            "\"$@\"; echo \"exit=$?\"",
            arguments,
            seconds: 60
        )
        let lines = result.stdout.split(separator: "\n")
        let status = lines.last.flatMap { $0.hasPrefix("exit=") ? Int32($0.dropFirst(5)) : nil } ?? -1
        return ShellResult(status: status, stdout: lines.dropLast().joined(separator: "\n"), stderr: result.stderr)
    }
}

/// What a namespace's firewall and policy routing look like, section by section, so that the
/// state before `up` can be compared with the state after `down`.
struct RulesetSnapshot: Equatable {
    /// Section name (the command) → its normalized output.
    var sections: [String: String]

    static let commands: [(String, String)] = [
        // Counters change with traffic (and iptables-nft gives every rule one): they are dropped,
        // as are the save files' headers, which name the time.
        ("nft list ruleset", "nft list ruleset | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'"),
        ("iptables-save", "iptables-save | grep -v '^#' | sed -E 's/\\[[0-9]+:[0-9]+\\]/[0:0]/'"),
        ("ip6tables-save", "ip6tables-save | grep -v '^#' | sed -E 's/\\[[0-9]+:[0-9]+\\]/[0:0]/'"),
        ("ip rule", "ip rule"),
        ("ip -6 rule", "ip -6 rule"),
        ("ip route show table all", "ip route show table all"),
        ("ip -6 route show table all", "ip -6 route show table all"),
    ]

    static func take(in namespace: String) async throws -> RulesetSnapshot {
        var sections: [String: String] = [:]
        for (name, command) in commands {
            let result = try await ShellCommand.bash(
                "set -o pipefail; ip netns exec \"$1\" bash -c \"$2\"",
                [namespace, command],
                seconds: 30
            )
            sections[name] = result.stdout
        }
        return RulesetSnapshot(sections: sections)
    }

    /// The sections that differ, each with both versions, for a failure message.
    func differences(to other: RulesetSnapshot) -> String {
        Self.commands.compactMap { name, _ in
            let mine = sections[name] ?? ""
            let theirs = other.sections[name] ?? ""
            return mine == theirs ? nil : "--- \(name) (before):\n\(mine)\n--- \(name) (after):\n\(theirs)"
        }
        .joined(separator: "\n")
    }

    /// Everything, for `contains` checks.
    var text: String { Self.commands.map { sections[$0.0] ?? "" }.joined(separator: "\n") }
}

/// Helpers for `scripts/lib/hashpeer.py` peers.
enum HashPeer {
    /// Starts `hashpeer.py serve` in `namespace` on `endpoint` and waits until it listens.
    static func serve(
        _ endpoint: String,
        bytes: Int,
        in namespace: String,
        name: String,
        directory: URL,
        count: Int = 1
    ) async throws -> ChildProcess {
        let child = try ChildProcess(
            [
                "ip", "netns", "exec", namespace, "python3", NetworkTestEnvironment.hashPeer.path, "serve",
                "--listen", endpoint, "--bytes", String(bytes), "--timeout", "30", "--count", String(count),
            ],
            name: name,
            directory: directory
        )
        let deadline = Date().addingTimeInterval(10)
        while !child.stderr.contains("listening on") {
            guard child.isRunning, Date() < deadline else {
                await child.stop()
                throw ShellCommandError(command: child.command, reason: "did not start listening", output: child.stderr)
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        return child
    }

    /// Starts `hashpeer.py send` in `namespace` to `endpoint` (it runs until the transfer ends).
    static func send(
        _ endpoint: String,
        bytes: Int,
        in namespace: String,
        name: String,
        directory: URL,
        timeout: Int = 30
    ) throws -> ChildProcess {
        try ChildProcess(
            [
                "ip", "netns", "exec", namespace, "python3", NetworkTestEnvironment.hashPeer.path, "send",
                "--connect", endpoint, "--bytes", String(bytes), "--timeout", String(timeout),
            ],
            name: name,
            directory: directory
        )
    }

    /// Every JSON report line of a peer's standard output (one per connection).
    static func reports(_ stdout: String, from name: String) throws -> [HashPeerReport] {
        try stdout.split(separator: "\n").filter { $0.hasPrefix("{") }.map { line in
            try JSONDecoder().decode(HashPeerReport.self, from: Data(line.utf8))
        }
    }

    /// The last JSON report line of a peer's standard output.
    static func report(_ stdout: String, from name: String) throws -> HashPeerReport {
        guard let line = stdout.split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
            throw ShellCommandError(command: [name], reason: "no JSON report", output: stdout)
        }
        return try JSONDecoder().decode(HashPeerReport.self, from: Data(line.utf8))
    }
}
