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

    static let loopback = Endpoint(address: .v4(0x7F00_0001), port: 0)

    init(
        destination: Endpoint,
        allow: [IPNetwork] = [IPNetwork("127.0.0.0/8")!],
        settings: EngineSettings = EngineSettings(workers: 2)
    ) throws {
        let logger = Logger(label: "test")
        let converterLog = converterLog
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
            logger: logger
        )
        do {
            try forwarder.start()
        } catch {
            converter.stop()
            throw error
        }
        forwardEndpoint = forwarder.boundEndpoints["lan"]!
    }

    /// Stops both engines and waits for their threads.
    func stop() async throws {
        forwarder.stop()
        converter.stop()
        try await forwarder.waitUntilStopped()
        try await converter.waitUntilStopped()
    }
}
