import Foundation
import Testing

extension NetworkTestSuites {

    /// With net.ipv4.tcp_fastopen = 3 on gateway and server, the Convert request must ride in the SYN of
    /// the MPTCP connection once the converter has handed out a cookie, and the data must still arrive intact.
    @Suite(
        "TCP Fast Open on the MPTCP hop",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(2))
    )
    struct FastOpenNetworkTests {
        static let connections = 4

        @Test("after the first connection, requests ride in the SYN and every byte arrives")
        func requestsRideInTheSYN() async throws {
            try #require(
                NetworkTestEnvironment.isRoot,
                "CI=true but not root: the network suite must run as root in CI"
            )
            let scratch = try NetworkTestEnvironment.makeScratchDirectory()
            defer { try? FileManager.default.removeItem(at: scratch) }
            let script = """
                set -euo pipefail
                root=$1 binary=$2 work=$3 prefix=$4 count=$5
                cd "$root"
                source scripts/lib/topology.sh
                pids=()
                cleanup() {
                    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
                    topo_destroy "$prefix"
                }
                trap cleanup EXIT
                topo_create "$prefix"
                for ns in gw srv; do ip netns exec "${prefix}$ns" sysctl -qw net.ipv4.tcp_fastopen=3; done
                printf '[runtime]\\nfast_open = true\\n[[listener]]\\nname = "lan"\\nrole = "forward"\\nlisten = "198.18.0.1:8000"\\n' >"$work/gw.toml"
                printf 'upstream = "198.18.1.2:8443"\\ndestination = "198.19.0.2:5201"\\n' >>"$work/gw.toml"
                printf '[runtime]\\nfast_open = true\\n[[listener]]\\nname = "converter"\\nrole = "convert"\\nauthentication = "none"\\nlisten = "0.0.0.0:8443"\\n' >"$work/srv.toml"
                printf 'allow = ["198.19.0.0/24"]\\n' >>"$work/srv.toml"
                topo_start_in "${prefix}srv" "$work/srv.log" "$binary" run --config "$work/srv.toml"
                topo_start_in "${prefix}gw" "$work/gw.log" "$binary" run --config "$work/gw.toml"
                topo_start_in "${prefix}dst" "$work/dst.log" python3 scripts/lib/hashpeer.py serve \\
                    --listen 198.19.0.2:5201 --bytes 200000 --count "$count"
                topo_wait_listen "${prefix}srv" 8443 10
                topo_wait_listen "${prefix}gw" 8000 10
                topo_wait_listen "${prefix}dst" 5201 10
                for _ in $(seq "$count"); do
                    echo "CLIENT $(ip netns exec "${prefix}cli" timeout 30 python3 scripts/lib/hashpeer.py send \\
                        --connect 198.18.0.1:8000 --bytes 200000)"
                done
                for _ in $(seq 50); do
                    [[ $(grep -c sent_sha256 "$work/dst.log") -ge $count ]] && break
                    sleep 0.1
                done
                grep sent_sha256 "$work/dst.log" | sed 's/^/SERVER /'
                echo "ACTIVE $(ip netns exec "${prefix}gw" nstat -az TcpExtTCPFastOpenActive | awk '/FastOpenActive/ {print $2}')"
                echo "PASSIVE $(ip netns exec "${prefix}srv" nstat -az TcpExtTCPFastOpenPassive | awk '/FastOpenPassive/ {print $2}')"
                """
            let result = try await ShellCommand.bash(
                script,
                [
                    NetworkTestEnvironment.packageRoot.path, NetworkTestEnvironment.relayBinary.path, scratch.path,
                    NetworkTestEnvironment.uniquePrefix("tfo"), "\(Self.connections)",
                ],
                seconds: 90
            )
            let lines = result.stdout.split(separator: "\n").map(String.init)
            func reports(_ tag: String) throws -> [HashPeerReport] {
                try lines.filter { $0.hasPrefix(tag + " ") }.map {
                    try JSONDecoder().decode(HashPeerReport.self, from: Data($0.dropFirst(tag.count + 1).utf8))
                }
            }
            let clients = try reports("CLIENT")
            let servers = try reports("SERVER")
            #expect(clients.count == Self.connections, "\(result.stdout)")
            #expect(servers.count == Self.connections, "\(result.stdout)")
            for client in clients {
                #expect(client.sent == 200_000 && client.received == 200_000)
                let match = servers.first { $0.receivedSHA256 == client.sentSHA256 }
                #expect(match?.sentSHA256 == client.receivedSHA256, "no server report matches \(client)")
            }
            func counter(_ tag: String) -> Int {
                lines.first { $0.hasPrefix(tag + " ") }.flatMap { Int($0.dropFirst(tag.count + 1)) } ?? 0
            }
            // The first connection fetches the cookie; the others carry data in their SYN.
            #expect(counter("ACTIVE") >= Self.connections - 1, "\(result.stdout)")
            #expect(counter("PASSIVE") >= Self.connections - 1, "\(result.stdout)")
        }
    }
}
