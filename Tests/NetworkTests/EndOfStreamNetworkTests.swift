import Foundation
import Testing

extension NetworkTestSuites {

    /// How the relay passes a server's close on (issue 14): when the server's FIN is already queued behind
    /// its last bytes (POLLRDHUP in the poll that woke the relay), the relay sends those bytes and the FIN
    /// together, in one segment, instead of the FIN one poll later. The LAN client then finds the end of
    /// stream with the response and the server side closes first, as without the relay, so TIME_WAIT
    /// sockets do not pile up in the client (whose connect() slows down as they do).
    @Suite(
        "end of stream: a server's close reaches the client with its last bytes",
        .serialized,
        .enabled(if: NetworkTestEnvironment.shouldRun, NetworkTestEnvironment.skipReason),
        .timeLimit(.minutes(2))
    )
    struct EndOfStreamNetworkTests {
        static let connections = 100

        @Test("response and FIN in one segment from dst: the relay sends them on in one segment too")
        func finRidesWithTheLastBytes() async throws {
            try await RelayTestHarness.run(tag: "eos") { harness, topology in
                // TCP in, TCP out (a fixed-backend converter taking plain TCP): both hops are the relay's.
                let converter = try harness.startRelay("converter", in: topology.srv, config: Self.converterConfig)
                try await converter.waitListening(on: 8444, in: topology, namespace: topology.srv)
                let script = NetworkTestEnvironment.packageRoot.appendingPathComponent("scripts/lib/closepeer.py")
                let server = try harness.start(
                    [
                        "ip", "netns", "exec", topology.dst, "python3", script.path, "serve", "--listen",
                        "198.19.0.2:5201", "--count", "\(Self.connections)", "--coalesce", "--seconds", "60",
                    ],
                    name: "closepeer-serve"
                )
                let deadline = Date().addingTimeInterval(10)
                while !server.stdout.contains("LISTENING") && Date() < deadline {
                    try await Task.sleep(nanoseconds: 50_000_000)
                }
                let client = try harness.start(
                    [
                        "ip", "netns", "exec", topology.cli, "python3", script.path, "request", "--connect",
                        "198.18.1.2:8444", "--count", "\(Self.connections)", "--sniff", "--seconds", "60",
                    ],
                    name: "closepeer-request"
                )
                let result = try await client.expectSuccess(seconds: 90)
                _ = try await server.expectSuccess(seconds: 30)
                print("end of stream: \(result.stdout.replacingOccurrences(of: "\n", with: "; "))")
                let fins = result.stdout.split(separator: "\n").first { $0.hasPrefix("FINS ") }
                let words = fins.map { $0.split(separator: " ") } ?? []
                let withData = words.count == 5 ? Int(words[2]) : nil
                let alone = words.count == 5 ? Int(words[4]) : nil
                #expect(
                    withData.map { $0 + (alone ?? 0) } == Self.connections,
                    "one FIN per connection from the relay: \(result.stdout)"
                )
                // Measured: 83 to 91 of 100 with the FIN on the data; 0 of 100 before the relay read on.
                #expect(
                    (withData ?? 0) * 2 >= Self.connections,
                    "the relay sent the FIN with the last bytes on \(withData ?? 0) of \(Self.connections): \(result.stdout)"
                )
            }
        }

        static let converterConfig = """
            [runtime]
            workers = 2

            [[listener]]
            name = "backend"
            role = "convert"
            authentication = "none"
            listen = "0.0.0.0:8444"
            backend = "198.19.0.2:5201"

            """
    }
}
