import Foundation
import Testing

extension NetworkTestSuites {

    /// systemd's Type=notify, played by scripts/lib/notify-listener.py: READY=1 only once the listener
    /// accepts, STOPPING=1 when SIGTERM starts the drain, and a clean exit.
    @Suite(
        "systemd notify: READY=1 when listening, STOPPING=1 on stop",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(1))
    )
    struct ServiceNotifyNetworkTests {
        @Test("run notifies READY=1 with the listener accepting, then STOPPING=1, and exits 0")
        func readyAndStopping() async throws {
            try #require(
                NetworkTestEnvironment.isRoot,
                "CI=true but not root: the network suite must run as root in CI"
            )
            let scratch = try NetworkTestEnvironment.makeScratchDirectory()
            defer { try? FileManager.default.removeItem(at: scratch) }
            let script = """
                set -euo pipefail
                root=$1 binary=$2 work=$3 ns=$4
                ip netns add "$ns"
                trap 'ip netns del "$ns"' EXIT
                ip -n "$ns" link set lo up
                printf '[[listener]]\\nname = "c"\\nrole = "convert"\\nauthentication = "none"\\n' >"$work/n.toml"
                printf 'listen = "127.0.0.1:8443"\\nallow = ["198.19.0.0/24"]\\n' >>"$work/n.toml"
                # On READY=1 the listener must already accept: probe it from inside the hold.
                ( for _ in $(seq 100); do
                      if grep -q "READY=1" "$work/out" 2>/dev/null; then
                          ip netns exec "$ns" bash -c 'exec 3<>/dev/tcp/127.0.0.1/8443' && echo "ACCEPTED" >"$work/probe"
                          break
                      fi
                      sleep 0.05
                  done ) &
                ip netns exec "$ns" python3 "$root/scripts/lib/notify-listener.py" --hold 1 --timeout 20 \\
                    "$binary" run --config "$work/n.toml" >"$work/out" 2>"$work/err"
                wait
                cat "$work/out"
                cat "$work/probe" 2>/dev/null || echo "NOT ACCEPTED"
                """
            let result = try await ShellCommand.bash(
                script,
                [
                    NetworkTestEnvironment.packageRoot.path, NetworkTestEnvironment.relayBinary.path, scratch.path,
                    NetworkTestEnvironment.uniquePrefix("ntf") + "ns",
                ],
                seconds: 40
            )
            let lines = result.stdout.split(separator: "\n").map(String.init)
            let ready = lines.firstIndex(of: "NOTIFY READY=1")
            let stopping = lines.firstIndex(of: "NOTIFY STOPPING=1")
            #expect(ready != nil, "no READY=1: \(result.stdout) \(result.stderr)")
            #expect(stopping != nil, "no STOPPING=1: \(result.stdout)")
            if let ready, let stopping { #expect(ready < stopping) }
            #expect(lines.contains("ACCEPTED"), "the listener did not accept right after READY=1: \(result.stdout)")
            #expect(lines.contains("EXIT 0"), "\(result.stdout)")
            #expect(!lines.contains("TIMEOUT"), "\(result.stdout)")
        }
    }
}
