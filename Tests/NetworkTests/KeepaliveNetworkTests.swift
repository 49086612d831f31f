import Foundation
import Testing

extension NetworkTestSuites {

    /// `[runtime] keepalive` on the reference topology: with `idle_timeout = 0` (never), an idle connection
    /// whose LAN client vanishes without a FIN is found dead by keepalive probes and freed on both relays.
    @Suite(
        "keepalive: half-open connections found without an idle timeout",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(2))
    )
    struct KeepaliveNetworkTests {
        @Test("an idle LAN client that vanishes: keepalive on both sockets of both relays ends it, with resets")
        func vanishedIdleClient() async throws {
            try await RelayTestHarness.run(tag: "ka") { harness, topology in
                let runtime = """
                    [runtime]
                    workers = 1
                    idle_timeout = 0
                    keepalive = { idle = 2, interval = 1, count = 2 }

                    """
                let converter = try harness.startRelay(
                    "converter",
                    in: topology.srv,
                    config: runtime + LoadNetworkTests.converterListener
                )
                let forwarder = try harness.startRelay(
                    "forwarder",
                    in: topology.gw,
                    config: runtime + LoadNetworkTests.forwarderListener
                )
                try await converter.waitListening(on: 8443, in: topology, namespace: topology.srv)
                try await forwarder.waitListening(on: 8000, in: topology, namespace: topology.gw)

                // A destination and a client that exchange a greeting, then hold the connection idle.
                let server = try harness.start(
                    ["ip", "netns", "exec", topology.dst, "python3", "-c", Self.idleServer, "198.19.0.2", "5201"],
                    name: "idle-server"
                )
                try await topology.waitListening(topology.dst, port: 5201, seconds: 10)
                let client = try harness.start(
                    ["ip", "netns", "exec", topology.cli, "python3", "-c", Self.idleClient, "198.18.0.1", "8000"],
                    name: "idle-client"
                )
                try await LoadPeer.waitFor(client, stderrContaining: "greeted", seconds: 15)

                // Every socket of the connection has a keepalive timer: the LAN socket and the MPTCP subflows
                // on the forwarder, the MPTCP subflows and the destination socket on the converter.
                for (namespace, filter) in [
                    (topology.gw, "sport = :8000"), (topology.gw, "dport = :8443"),
                    (topology.srv, "sport = :8443"), (topology.srv, "dport = :5201"),
                ] {
                    let sockets = try await ShellCommand.run(
                        ["ip", "netns", "exec", namespace, "ss", "-Htno", "state", "established", filter],
                        seconds: 10
                    ).stdout
                    #expect(
                        !sockets.isEmpty && sockets.split(separator: "\n").allSatisfy { $0.contains("keepalive") },
                        "\(namespace) \(filter): no keepalive timer:\n\(sockets)"
                    )
                }

                // The client's link goes away: no FIN, no reset. Nothing is in flight, so only keepalive (2 s
                // idle, then 2 probes 1 s apart) can tell; idle_timeout = 0 never would.
                try await ShellCommand.run(["ip", "-n", topology.cli, "link", "set", "eth0", "down"], seconds: 10)
                try await forwarder.expectLogLine(
                    containing: ["listener=lan", "result=downstream_reset", "timed out"],
                    "the forwarder did not free the half-open connection:\n\(forwarder.log.suffix(1500))"
                )
                try await converter.expectLogLine(
                    containing: ["listener=converter", "result=downstream_reset"],
                    "the converter did not see the forwarder's reset:\n\(converter.log.suffix(1500))"
                )
                let status = try await server.wait(seconds: 10)
                #expect(status == 0, "the destination did not see a reset:\n\(server.stderr)")
            }
        }

        /// Accepts one connection, answers its greeting, then waits (at most 60 s) for its end: exit 0 on a
        /// reset, 1 otherwise.
        static let idleServer = """
            import socket, sys
            listener = socket.create_server((sys.argv[1], int(sys.argv[2])))
            connection, _ = listener.accept()
            connection.settimeout(60)
            connection.recv(16)
            connection.sendall(b"hello")
            try:
                data = connection.recv(16)
                print(f"ended without a reset: {data!r}", file=sys.stderr)
                sys.exit(1)
            except ConnectionResetError:
                sys.exit(0)
            """

        /// Connects, exchanges a greeting, then holds the connection without a byte for at most 60 s.
        static let idleClient = """
            import socket, sys, time
            connection = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
            connection.sendall(b"hi")
            assert connection.recv(16) == b"hello"
            print("greeted", file=sys.stderr, flush=True)
            time.sleep(60)
            """
    }
}
