import ConvertProtocol
import Logging
import RelayCore

/// An engine with one forward listener that is never started: tests write its statistics directly,
/// as a worker would, and render what the collector makes of them.
func unstartedEngine(workers: Int = 2) -> RelayEngine {
    RelayEngine(
        settings: EngineSettings(workers: workers),
        listeners: [
            ListenerSpec(
                name: "lan",
                listen: Endpoint("127.0.0.1:0")!,
                role: .forward(upstream: Endpoint("127.0.0.1:1")!, destination: Endpoint("127.0.0.1:2")!)
            )
        ],
        logger: Logger(label: "test")
    )
}
