import Foundation
import Testing

extension NetworkTestSuites {

    /// With net.mptcp.enabled=0 in its namespace, the relay must refuse to start and say why in one line.
    @Suite(
        "MPTCP disabled",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(1))
    )
    struct MPTCPDisabledTests {
        @Test("start fails with one clear line when the kernel refuses MPTCP sockets")
        func startFailsClearly() async throws {
            try #require(
                NetworkTestEnvironment.isRoot,
                "CI=true but not root: the network suite must run as root in CI"
            )
            let namespace = NetworkTestEnvironment.uniquePrefix("nomp") + "ns"
            let scratch = try NetworkTestEnvironment.makeScratchDirectory()
            defer { try? FileManager.default.removeItem(at: scratch) }
            let config = scratch.appendingPathComponent("server.toml")
            try """
            [[listener]]
            name = "converter"
            role = "convert"
            authentication = "none"
            listen = "127.0.0.1:8443"
            allow = ["198.19.0.0/24"]
            """.write(to: config, atomically: true, encoding: .utf8)
            let script = """
                set -u
                ns=$1; binary=$2; config=$3
                trap 'ip netns del "$ns" 2>/dev/null' EXIT
                ip netns add "$ns"
                ip -n "$ns" link set lo up
                ip netns exec "$ns" sysctl -qw net.mptcp.enabled=0
                timeout 20 ip netns exec "$ns" "$binary" run --config "$config"
                echo "exit=$?"
                """
            let result = try await ShellCommand.bash(
                script,
                [namespace, NetworkTestEnvironment.relayBinary.path, config.path],
                seconds: 40
            )
            #expect(result.stdout.contains("exit=1"), "stdout: \(result.stdout) stderr: \(result.stderr)")
            let lines = result.stderr.split(separator: "\n").filter { $0.contains("MPTCP is not available") }
            #expect(lines.count == 1, "\(result.stderr)")
            #expect(lines.first?.contains("net.mptcp.enabled") == true)
        }
    }
}
