import Foundation
import Testing

extension NetworkTestSuites {

    /// A transparent listener without CAP_NET_ADMIN (and CAP_NET_RAW, which the kernel also accepts for
    /// IP_TRANSPARENT) must fail at start with one line that names the capability.
    @Suite(
        "Transparent listener without CAP_NET_ADMIN",
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(1))
    )
    struct TransparentCapabilityTests {
        @Test("start fails with a line naming CAP_NET_ADMIN")
        func startFailsNamingTheCapability() async throws {
            try #require(
                NetworkTestEnvironment.isRoot,
                "CI=true but not root: the network suite must run as root in CI"
            )
            let scratch = try NetworkTestEnvironment.makeScratchDirectory()
            defer { try? FileManager.default.removeItem(at: scratch) }
            let config = scratch.appendingPathComponent("gateway.toml")
            try """
            [[listener]]
            name = "tproxy4"
            role = "transparent"
            listen = "127.0.0.1:7999"
            upstream = "198.18.1.2:8443"
            """.write(to: config, atomically: true, encoding: .utf8)
            let script = """
                timeout 20 setpriv --inh-caps=-net_admin,-net_raw --bounding-set=-net_admin,-net_raw \
                    "$1" run --config "$2"
                echo "exit=$?"
                """
            let result = try await ShellCommand.bash(
                script,
                [NetworkTestEnvironment.relayBinary.path, config.path],
                seconds: 30
            )
            #expect(result.stdout.contains("exit=1"), "stdout: \(result.stdout) stderr: \(result.stderr)")
            let lines = result.stderr.split(separator: "\n").filter { $0.contains("needs CAP_NET_ADMIN") }
            #expect(lines.count == 1, "\(result.stderr)")
        }
    }
}
