import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension NetworkTestSuites {

    /// A relay that dies (kill -9) must never leave a peer believing its connection ended well: with
    /// nothing unread in its sockets, the kernel would close them with a FIN, and a truncated stream would
    /// look complete. Both ends of idle connections must see a reset.
    @Suite(
        "a relay killed with -9: every peer sees a reset, never a clean end",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(2))
    )
    struct RelayDeathNetworkTests {
        static let connections = 4

        @Test(
            "a relay killed with -9 (converter or forwarder): the LAN clients see resets, the destination too",
            arguments: ["converter", "forwarder"]
        )
        func killed(_ victim: String) async throws {
            try await RelayTestHarness.run(tag: "kd", rate: "50mbit") { harness, topology in
                let (converter, forwarder) = try await FaultNetworkTests.startRelays(harness, topology)
                let script = NetworkTestEnvironment.packageRoot.appendingPathComponent("scripts/lib/endpeer.py").path
                let server = try harness.start(
                    [
                        "ip", "netns", "exec", topology.dst, "python3", script, "serve", "--listen",
                        "198.19.0.2:5201", "--count", "\(Self.connections)", "--seconds", "40",
                    ],
                    name: "serve"
                )
                try await Self.waitFor(server, lines: "LISTENING", count: 1)
                let clients = try harness.start(
                    [
                        "ip", "netns", "exec", topology.cli, "python3", script, "hold", "--connect",
                        "198.18.0.1:8000", "--count", "\(Self.connections)", "--seconds", "30",
                    ],
                    name: "hold"
                )
                // Every upload has arrived: nothing is left unread in either relay.
                try await Self.waitFor(server, lines: "READY", count: Self.connections)
                try await Task.sleep(nanoseconds: 300_000_000)
                let relay = victim == "converter" ? converter : forwarder
                kill(relay.child.processIdentifier, SIGKILL)
                _ = try await clients.wait(seconds: 35)
                _ = try await server.wait(seconds: 45)
                let clientEnds = clients.stdout.split(separator: "\n").filter { $0.hasPrefix("END ") }
                let serverEnds = server.stdout.split(separator: "\n").filter { $0.hasPrefix("END ") }
                #expect(clientEnds.count == Self.connections, "clients: \(clients.stdout)")
                #expect(clientEnds.allSatisfy { $0.contains(" reset ") }, "the LAN clients: \(clientEnds)")
                if victim == "converter" {
                    // The destination's side is the dead converter's own socket.
                    #expect(serverEnds.count == Self.connections, "destination: \(server.stdout)")
                    #expect(serverEnds.allSatisfy { $0.contains(" reset ") }, "the destination: \(serverEnds)")
                }
            }
        }

        /// Waits (bounded) until `child` printed `count` lines starting with `prefix`.
        static func waitFor(_ child: ChildProcess, lines prefix: String, count: Int) async throws {
            let deadline = Date().addingTimeInterval(20)
            while child.stdout.split(separator: "\n").filter({ $0.hasPrefix(prefix) }).count < count {
                guard Date() < deadline, child.isRunning else {
                    throw ShellCommandError(
                        command: child.command,
                        reason: "fewer than \(count) \(prefix) lines",
                        output: child.stdout + child.stderr
                    )
                }
                try await Task.sleep(nanoseconds: 50_000_000)
            }
        }
    }
}
