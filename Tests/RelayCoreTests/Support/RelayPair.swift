import ConvertProtocol
import InMemoryLogging
import Logging
import RelayCore

/// A converter engine and a forward engine in this process, on 127.0.0.1 with free ports: the forward
/// listener's upstream is the converter, its destination whatever the test names.
struct RelayPair {
    let converter: RelayEngine
    let forwarder: RelayEngine
    let converterEndpoint: Endpoint
    let forwardEndpoint: Endpoint
    /// What the converter logged.
    let converterLog = InMemoryLogHandler()
    /// What the forwarder logged.
    let forwarderLog = InMemoryLogHandler()

    static let loopback = Endpoint(address: .v4(0x7F00_0001), port: 0)

    init(
        destination: Endpoint,
        allow: [IPNetwork] = [IPNetwork("127.0.0.0/8")!],
        settings: EngineSettings = EngineSettings(workers: 2)
    ) throws {
        let converterLog = converterLog
        let forwarderLog = forwarderLog
        // The destination is a test server on 127.0.0.1, which RFC 8803 has a converter refuse.
        var converterSettings = settings
        converterSettings.loopbackDestinationsForTests = true
        converter = RelayEngine(
            settings: converterSettings,
            listeners: [
                ListenerSpec(
                    name: "converter",
                    listen: Self.loopback,
                    role: .convert(
                        policy: DestinationPolicy(allow: allow),
                        backend: nil
                    )
                )
            ],
            logger: Logger(label: "test", factory: { _ in converterLog })
        )
        try converter.start()
        converterEndpoint = converter.boundEndpoints["converter"]!
        forwarder = RelayEngine(
            settings: settings,
            listeners: [
                ListenerSpec(
                    name: "lan",
                    listen: Self.loopback,
                    role: .forward(upstream: converterEndpoint, destination: destination)
                )
            ],
            logger: Logger(label: "test", factory: { _ in forwarderLog })
        )
        do {
            try forwarder.start()
        } catch {
            converter.stop()
            throw error
        }
        forwardEndpoint = forwarder.boundEndpoints["lan"]!
    }

    /// Both relays' close lines that did not complete, and their warnings: what a failed test prints.
    var troubles: String {
        var lines: [String] = []
        for (name, log) in [("forwarder", forwarderLog), ("converter", converterLog)] {
            for entry in log.entries
            where entry.level >= .warning
                || (entry.message == "connection closed" && entry.metadata["result"] != "completed")
            {
                lines.append(
                    "\(name): \(entry.level) \(entry.message) \(entry.metadata.map { "\($0)=\($1)" }.sorted())"
                )
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Stops both engines and waits for their threads.
    func stop() async throws {
        forwarder.stop()
        converter.stop()
        try await forwarder.waitUntilStopped()
        try await converter.waitUntilStopped()
    }
}

/// A forward engine alone on 127.0.0.1, listener "lan", whose converter is `upstream` (a test's fake one) and
/// whose destination is 198.18.0.9:80 (the fake converter never connects anywhere); started.
func startForwarder(to upstream: Endpoint, workers: Int) throws -> (engine: RelayEngine, lan: Endpoint) {
    let forwarder = RelayEngine(
        settings: EngineSettings(workers: workers),
        listeners: [
            ListenerSpec(
                name: "lan",
                listen: RelayPair.loopback,
                role: .forward(upstream: upstream, destination: Endpoint("198.18.0.9:80")!)
            )
        ],
        logger: Logger(label: "test")
    )
    try forwarder.start()
    return (forwarder, forwarder.boundEndpoints["lan"]!)
}
