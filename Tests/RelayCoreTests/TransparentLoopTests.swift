import ConvertProtocol
import Foundation
import InMemoryLogging
import Logging
import RelayCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A transparent listener reached directly, without TPROXY: the original destination is the relay
/// itself, which must be refused, never relayed (IP_TRANSPARENT needs CAP_NET_ADMIN: root only).
@Suite(
    "Transparent listener loop refusal",
    .enabled(
        if: geteuid() == 0 || ProcessInfo.processInfo.environment["CI"] == "true",
        "IP_TRANSPARENT needs CAP_NET_ADMIN: run as root (in CI, CI=true makes a missing root fail)"
    ),
    .timeLimit(.minutes(1))
)
struct TransparentLoopTests {
    @Test("A connection addressed to the relay itself is reset and logged as loop_refused")
    func selfAddressedConnectionIsRefused() async throws {
        try #require(geteuid() == 0, "must run as root")
        let log = InMemoryLogHandler()
        let engine = RelayEngine(
            settings: EngineSettings(workers: 1),
            listeners: [
                ListenerSpec(
                    name: "tproxy",
                    listen: RelayPair.loopback,
                    role: .transparent(upstream: TestServer.closedPort())
                )
            ],
            logger: Logger(label: "test", factory: { _ in log })
        )
        try engine.start()
        let listener = try #require(engine.boundEndpoints["tproxy"])
        let outcome = try await onThread {
            try BlockingSocket.connect(to: listener, timeoutSeconds: 10).endOfStreamErrno()
        }
        #expect(outcome == ECONNRESET)
        engine.stop()
        try await engine.waitUntilStopped()
        let closes = log.entries.filter { $0.message == "connection closed" }
        #expect(closes.map { $0.metadata["result"] } == ["loop_refused"])
        #expect(closes.first?.metadata["destination"] == "\(listener)")
        #expect(log.entries.first { $0.message == "worker stopped" }?.metadata["loops_refused"] == "1")
    }
}
