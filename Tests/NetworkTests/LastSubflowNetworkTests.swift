import Foundation
import Testing

extension NetworkTestSuites {

    /// A half-closed request whose only path flaps (issue 11, finding 12 of docs/RELIABILITY.md): the soak
    /// lost short requests that had half-closed (request sent, FIN sent, answer pending) when their only
    /// subflow's path went down; the kernel refuses every join of a connection that has left ESTABLISHED
    /// (ENOTCONN), so the initial subflow is all such a request has. The path manager now keeps it (the
    /// planner's rule, `SubflowPlannerTests.lastSubflowStays`). This test is the end-to-end check that such a
    /// request is answered once the path is back; it passed before the rule too (the kernel kept receiving on
    /// the destroyed initial subflow here), so it guards the recovery, not the rule: the soak is what caught
    /// the loss.
    @Suite(
        "path manager: a connection's last subflow stays until another can carry it",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(2))
    )
    struct LastSubflowNetworkTests {
        @Test("a half-closed request whose only path flaps: the answer arrives once the path is back")
        func halfClosedRequestSurvivesAFlap() async throws {
            try await RelayTestHarness.run(tag: "ls", rate: "50mbit") { harness, topology in
                _ = try harness.startRelay("converter", in: topology.srv, config: FaultNetworkTests.converterConfig)
                let gateway = try harness.startRelay("gateway", in: topology.gw, config: Self.gatewayConfig)
                try await topology.waitListening(topology.srv, port: 8443, seconds: 10)
                try await gateway.waitListening(on: 8000, in: topology, namespace: topology.gw)

                // The destination reads the request to its end, thinks for half a second, answers and closes.
                _ = try harness.start(
                    ["ip", "netns", "exec", topology.dst, "python3", "-c", Self.slowEcho],
                    name: "slow-echo"
                )
                try await topology.waitListening(topology.dst, port: 5201, seconds: 10)
                // The client sends its request, half-closes and reads the answer to the end (20 s at most).
                let client = try harness.start(
                    ["ip", "netns", "exec", topology.cli, "python3", "-c", Self.requester],
                    name: "request"
                )
                // The request is on its way, the answer not yet (the client half-closed at once: its joins are
                // refused, A's subflow is all it has).
                try await Task.sleep(for: .milliseconds(300))
                try await topology.setLink(topology.gw, "upa0", up: false)
                try await Task.sleep(for: .seconds(2))
                try await topology.setLink(topology.gw, "upa0", up: true)

                let status = try await client.wait(seconds: 25)
                #expect(
                    status == 0 && client.stdout.contains("answer 65536 bytes intact"),
                    "the request hung: \(client.stdout) \(client.stderr)\n\(gateway.log.suffix(3000))"
                )
            }
        }

        static let slowEcho = """
            import socket, time
            listener = socket.socket(); listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("198.19.0.2", 5201)); listener.listen(4)
            conn, _ = listener.accept(); conn.settimeout(30)
            request = b""
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                request += data
            time.sleep(0.5)
            conn.sendall(request); conn.close()
            """

        static let requester = """
            import os, socket
            request = os.urandom(65536)
            sock = socket.create_connection(("198.18.0.1", 8000), timeout=20)
            sock.sendall(request); sock.shutdown(socket.SHUT_WR)
            answer = b""
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
            print("answer", len(answer), "bytes", "intact" if answer == request else "DAMAGED")
            """

        /// The fault suite's forwarder as the namespace's path manager over both uplinks.
        static let gatewayConfig = FaultNetworkTests.forwarderConfig + GatewayTables.paths(["a", "b"])
    }
}
