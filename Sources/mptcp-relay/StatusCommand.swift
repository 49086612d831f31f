import ArgumentParser
import ConvertProtocol
import Foundation
import RelayMetrics

/// `mptcp-relay status`: the relay's live connections and their subflows, from its metrics port.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a running relay's connections and their subflows, per path (from its /connections).",
        discussion: """
            Asks the relay's metrics side port ([metrics] listen, default 127.0.0.1:9090) for /connections and \
            prints one line per connection and one per subflow, with the path it uses and whether it is a backup. \
            Run it in the relay's network namespace (ip netns exec NS mptcp-relay status).
            """
    )

    @Option(name: .long, help: "The relay's metrics address (ADDRESS:PORT).")
    var metrics = "127.0.0.1:9090"

    @Flag(name: .long, help: "Refresh until interrupted.")
    var watch = false

    @Option(name: .long, help: "Seconds between refreshes with --watch.")
    var interval: Double = 2

    @Flag(name: .long, help: "Print the /connections JSON instead of a table.")
    var json = false

    func run() async throws {
        guard let endpoint = Endpoint(metrics) else {
            throw ValidationError("--metrics \(metrics) is not an endpoint; expected ADDRESS:PORT")
        }
        repeat {
            let (status, body) = try await MetricsClient.get(endpoint, path: "/connections")
            guard status == 200 else {
                throw ValidationError("\(endpoint)/connections answered HTTP \(status)")
            }
            if json {
                print(String(decoding: body, as: UTF8.self), terminator: "")
            } else {
                let document = try JSONDecoder().decode(ConnectionsDocument.self, from: Data(body))
                if watch { print("\u{1B}[H\u{1B}[2J", terminator: "") }
                print(StatusTable.render(document), terminator: "")
            }
            if watch { try await Task.sleep(for: .milliseconds(Int(max(interval, 0.2) * 1000))) }
        } while watch
    }
}
