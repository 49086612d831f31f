import Foundation
import Testing

extension NetworkTestSuites {

    /// A transparent listener without CAP_NET_ADMIN (and CAP_NET_RAW, which the kernel also accepts for
    /// IP_TRANSPARENT) must fail at start with one line that names the capability; with it and nothing else,
    /// as nobody, it starts.
    @Suite(
        "Transparent listener and CAP_NET_ADMIN",
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

        @Test("as nobody with only CAP_NET_ADMIN (setpriv), it starts, listens and logs who it runs as")
        func startsAsNobodyWithTheCapability() async throws {
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
            mark = 1
            """.write(to: config, atomically: true, encoding: .utf8)
            // A fresh network namespace (unshare), so the ports are free; the relay runs as nobody.
            let script = """
                unshare -n bash -c '
                    ip link set lo up
                    setpriv --reuid=nobody --regid=nogroup --clear-groups \\
                        --bounding-set=-all,+net_admin --inh-caps=-all,+net_admin --ambient-caps=+net_admin \\
                        "$1" run --config "$2" 2>"$3" &
                    relay=$!
                    for _ in $(seq 100); do grep -q "relay started" "$3" && break; sleep 0.1; done
                    ss -Htln "sport = :7999" | grep -q 127.0.0.1 && echo listening
                    grep -E "^(Uid|CapEff)" /proc/$relay/status
                    kill $relay; wait $relay; echo "exit=$?"
                ' bash "$@"
                """
            let log = scratch.appendingPathComponent("relay.log")
            let result = try await ShellCommand.bash(
                script,
                [NetworkTestEnvironment.relayBinary.path, config.path, log.path],
                seconds: 30
            )
            let stderr = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            #expect(result.stdout.contains("listening"), "stdout: \(result.stdout) log: \(stderr)")
            #expect(result.stdout.contains("Uid:\t65534\t65534\t65534\t65534"), "\(result.stdout)")
            #expect(result.stdout.contains("CapEff:\t0000000000001000"), "\(result.stdout)")
            #expect(result.stdout.contains("exit=0"), "stdout: \(result.stdout) log: \(stderr)")
            #expect(stderr.contains("capabilities=cap_net_admin"), "\(stderr)")
            #expect(stderr.contains("running without root"), "\(stderr)")
        }
    }
}
